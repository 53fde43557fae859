//! `heka-tail`: file discovery, tailing, rotation and journals.
