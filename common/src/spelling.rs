//! "Did you mean …?": the known word a misspelt one most likely stands for.

/// The candidate `word` is most likely a typo of, if any is close enough.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= near_miss_distance(word))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// How many edits still make a typo rather than another word: one for short words, two for
/// longer ones (`emial`, `pasword`).
fn near_miss_distance(word: &str) -> usize {
    if word.len() >= 5 { 2 } else { 1 }
}

/// Levenshtein distance between two keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_found_and_other_words_are_not() {
        let known = ["password", "host", "sslmode"];
        assert_eq!(closest("pasword", known.into_iter()), Some("password"));
        assert_eq!(closest("hots", known.into_iter()), None);
        assert_eq!(closest("hostt", known.into_iter()), Some("host"));
        assert_eq!(closest("schedule", known.into_iter()), None);
    }
}
