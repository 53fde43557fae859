//! "Did you mean" suggestions: the names closest to a misspelt one (keys here, plugin
//! types and section names in `crate::assemble`).

/// The candidates closest to `name` by edit distance (case-insensitive), best first,
/// at most three; only those near enough to be a plausible typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    // A third of the name's length, at least 2: "TcpInptu" -> "TcpInput" (2) is a
    // typo, "Foo" -> "LogOutput" is not.
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let d = levenshtein(&lower, &c.to_ascii_lowercase());
            (d <= limit && d > 0 || (d == 0 && c != name)).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_owned())
        .collect()
}

/// Classic two-row Levenshtein distance over chars.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("abc", "abc"), 0);
    }

    #[test]
    fn typos_are_suggested() {
        let names = ["TcpInput", "StdinInput", "LogOutput", "FileOutput"];
        assert_eq!(closest("TcpInptu", names), vec!["TcpInput"]);
        assert_eq!(closest("tcpinput", names), vec!["TcpInput"]);
        assert_eq!(closest("FileOutptu", names), vec!["FileOutput"]);
        assert!(closest("Zzz", names).is_empty());
    }
}
