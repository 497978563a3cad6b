//! What Octopus does to a script body before running it, for the `#{` the bodies may contain:
//! `##{` becomes `#{`; any other `#{` would be substituted, which a generated body must not need.

/// Returns the body as Octopus runs it, or the offset of an unescaped `#{`.
pub fn substitute(body: &str) -> Result<String, usize> {
    let mut substituted = String::with_capacity(body.len());
    let mut rest = body;
    let mut offset = 0;
    while let Some(index) = rest.find("#{") {
        if rest[..index].ends_with('#') {
            substituted.push_str(&rest[..index - 1]);
            substituted.push_str("#{");
        } else {
            return Err(offset + index);
        }
        offset += index + 2;
        rest = &rest[index + 2..];
    }
    substituted.push_str(rest);
    Ok(substituted)
}
