//! Human-readable numbers shared by the text formats.

/// Formats simulated seconds as `1h 02m 03s`, `12m 05s` or `3.2s`.
pub fn format_seconds(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".to_string();
    }
    let sign = if seconds < 0.0 { "-" } else { "" };
    let seconds = seconds.abs();
    if seconds < 60.0 {
        let text = format!("{seconds:.1}");
        let text = text.strip_suffix(".0").unwrap_or(&text);
        return format!("{sign}{text}s");
    }
    let total = seconds.round() as u64;
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 { format!("{sign}{hours}h {minutes:02}m {secs:02}s") } else { format!("{sign}{minutes}m {secs:02}s") }
}

/// Formats an optional duration, with `-` when absent.
pub fn format_optional(seconds: Option<f64>) -> String {
    seconds.map(format_seconds).unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_formats() {
        assert_eq!(format_seconds(3.24), "3.2s");
        assert_eq!(format_seconds(12.0), "12s");
        assert_eq!(format_seconds(725.0), "12m 05s");
        assert_eq!(format_seconds(3723.0), "1h 02m 03s");
    }
}
