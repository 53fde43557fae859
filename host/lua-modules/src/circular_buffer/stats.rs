//! `compute` and `mannwhitneyu`: statistics over a column's rows. NaN cells (rows
//! never written) are not observations and are skipped.

/// `compute`'s functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Function {
    Sum,
    Avg,
    Sd,
    Min,
    Max,
    Variance,
}

impl Function {
    pub(crate) fn parse(s: &str) -> Option<Function> {
        Some(match s {
            "sum" => Function::Sum,
            "avg" => Function::Avg,
            "sd" => Function::Sd,
            "min" => Function::Min,
            "max" => Function::Max,
            "variance" => Function::Variance,
            _ => return None,
        })
    }
}

/// The result of `f` over `values` and the number of rows holding a number. With
/// no such row: `sum` is 0, the others NaN. `sd`/`variance` are the population's.
pub(crate) fn compute(f: Function, values: &[f64]) -> (f64, usize) {
    let valid = || values.iter().copied().filter(|v| !v.is_nan());
    let n = valid().count();
    if n == 0 {
        return (if f == Function::Sum { 0.0 } else { f64::NAN }, 0);
    }
    let sum: f64 = valid().sum();
    let avg = sum / n as f64;
    let variance = || valid().map(|v| (v - avg) * (v - avg)).sum::<f64>() / n as f64;
    let result = match f {
        Function::Sum => sum,
        Function::Avg => avg,
        Function::Sd => variance().sqrt(),
        Function::Variance => variance(),
        Function::Min => valid().fold(f64::INFINITY, f64::min),
        Function::Max => valid().fold(f64::NEG_INFINITY, f64::max),
    };
    (result, n)
}

/// The Mann-Whitney U test of samples `x` and `y` (ties averaged and corrected
/// for; normal approximation, so meant for samples of 20 or more): the smaller U
/// and the one-sided p-value. `None` when a sample is empty.
pub(crate) fn mann_whitney_u(x: &[f64], y: &[f64], continuity: bool) -> Option<(f64, f64)> {
    let x: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let y: Vec<f64> = y.iter().copied().filter(|v| !v.is_nan()).collect();
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    if x.is_empty() || y.is_empty() {
        return None;
    }
    // Rank the pooled samples (1-based), ties getting their average rank.
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pooled.len();
    let mut rank_sum_x = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let count = (j - i + 1) as f64;
        ties += count * count * count - count;
        rank_sum_x += pooled[i..=j].iter().filter(|p| p.1).count() as f64 * rank;
        i = j + 1;
    }
    let u1 = n1 * n2 + n1 * (n1 + 1.0) / 2.0 - rank_sum_x;
    let u2 = n1 * n2 - u1;
    let (big, small) = (u1.max(u2), u1.min(u2));
    let nt = n1 + n2;
    let tie_factor = 1.0 - ties / (nt * nt * nt - nt);
    let sd = (tie_factor * n1 * n2 * (nt + 1.0) / 12.0).sqrt();
    let correction = if continuity { 0.5 } else { 0.0 };
    let z = (big - correction - n1 * n2 / 2.0) / sd;
    let p = 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
    Some((small, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_skips_empty_rows() {
        let v = [1.0, f64::NAN, 3.0];
        assert_eq!(compute(Function::Sum, &v), (4.0, 2));
        assert_eq!(compute(Function::Avg, &v), (2.0, 2));
        assert_eq!(compute(Function::Sd, &v), (1.0, 2));
        assert_eq!(compute(Function::Variance, &v), (1.0, 2));
        assert_eq!(compute(Function::Min, &v), (1.0, 2));
        assert_eq!(compute(Function::Max, &v), (3.0, 2));
        assert_eq!(compute(Function::Sum, &[f64::NAN]), (0.0, 0));
        assert!(compute(Function::Max, &[f64::NAN]).0.is_nan());
    }

    /// The example of lua_circular_buffer's documentation: U = 171, p = 0.22037.
    #[test]
    fn mann_whitney_matches_the_documented_example() {
        let data = [
            15309., 14092., 13661., 13412., 14205., 15042., 14142., 13820., 14917., 13953., 14320.,
            14472., 15133., 13790., 14539., 14129., 14363., 14202., 13841., 13610., 13759., 14428.,
            14851., 13838., 13819., 14468., 14989., 15557., 14380., 13500., 14818., 14632., 13631.,
            14663., 14532., 14188., 14537., 14109., 13925., 15022.,
        ];
        let (u, p) = mann_whitney_u(&data[..20], &data[20..], true).expect("samples");
        assert_eq!(u, 171.0);
        assert!((p - 0.22037).abs() < 5e-6, "{p}");
    }
}
