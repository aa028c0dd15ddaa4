//! A popup drawn in the terminal as a boxed card: the campaign on the top
//! edge, then the title, the body and the buttons, as a person would see it.

/// The widest card line in characters: longer text wraps, so a long body
/// does not make a card wider than a usual terminal.
const MAX_TEXT_WIDTH: usize = 60;

/// Draws a card; `indent` is put before each line.
pub fn draw(campaign: &str, title: &str, body: &str, buttons: &[String], indent: &str) -> String {
    let mut lines = wrap(title);
    if !body.is_empty() {
        lines.push(String::new());
        lines.extend(wrap(body));
    }
    if !buttons.is_empty() {
        lines.push(String::new());
        lines.push(
            buttons
                .iter()
                .map(|b| format!("[ {b} ]"))
                .collect::<Vec<_>>()
                .join("  "),
        );
    }
    let label = format!(" {campaign} ");
    let inner = lines
        .iter()
        .map(|l| l.chars().count())
        .chain([label.chars().count() + 1])
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "{indent}┌─{label}{}┐\n",
        "─".repeat(inner + 1 - label.chars().count())
    );
    for l in &lines {
        let pad = " ".repeat(inner - l.chars().count());
        out.push_str(&format!("{indent}│ {l}{pad} │\n"));
    }
    out.push_str(&format!("{indent}└{}┘", "─".repeat(inner + 2)));
    out
}

fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > MAX_TEXT_WIDTH {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::draw;

    #[test]
    fn every_line_of_a_card_is_as_wide_as_its_edges() {
        let card = draw(
            "lottery",
            "Welcome!",
            "New members draw once.",
            &["Open".into(), "Not now".into()],
            "",
        );
        let widths: Vec<usize> = card.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{card}");
        assert!(card.contains("[ Open ]  [ Not now ]"), "{card}");
        assert!(card.starts_with("┌─ lottery ─"), "{card}");
    }
}
