//! How a person is named to themselves: one rule for identities (from a
//! provider) and directory records alike.

/// How a person is named on a page: the first given name and the name in
/// use (the usage name if any, else the family name), e.g. `Marie Dupont`;
/// missing or blank parts left out.
pub(crate) fn display_name(given: Option<&str>, family: Option<&str>) -> String {
    let parts: Vec<&str> = [given, family]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    parts.join(" ")
}
