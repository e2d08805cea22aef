//! The message preview: the electronic body as HTML, the way a Suomi.fi mailbox shows it —
//! Markdown rendered, plain text with its line breaks. Safe to put into a page: raw HTML in
//! the text is shown as text, and only `https://` links stay links (Suomi.fi makes only
//! those clickable).

use pulldown_cmark::{html, Event, Parser, Tag, TagEnd};

pub fn body_html(body: &str, markdown: bool) -> String {
    if !markdown {
        return plain(body);
    }
    let mut in_unsafe_link = false;
    let events = Parser::new(body).filter_map(|event| match event {
        // Typed as HTML, shown as text.
        Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
        Event::Start(Tag::Link { dest_url, .. }) if !dest_url.starts_with("https://") => {
            in_unsafe_link = true;
            None
        }
        Event::End(TagEnd::Link) if in_unsafe_link => {
            in_unsafe_link = false;
            None
        }
        // Images do not show in Suomi.fi messages: their text does.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        event => Some(event),
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

fn plain(body: &str) -> String {
    let mut out = String::new();
    for paragraph in body.replace("\r\n", "\n").split("\n\n") {
        if paragraph.trim().is_empty() {
            continue;
        }
        out.push_str("<p>");
        out.push_str(&escape(paragraph.trim()).replace('\n', "<br>"));
        out.push_str("</p>");
    }
    out
}

/// Text as HTML text or attribute value.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_but_html_and_unsafe_links_do_not() {
        let html = body_html(
            "# Otsikko\n\n**tärkeä** <script>alert(1)</script> [linkki](https://suomi.fi) \
             [huijaus](javascript:alert(1)) ![kuva](https://x/y.png)",
            true,
        );
        assert!(html.contains("<h1>Otsikko</h1>"));
        assert!(html.contains("<strong>tärkeä</strong>"));
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"));
        assert!(html.contains("<a href=\"https://suomi.fi\">linkki</a>"));
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("huijaus"));
        assert!(!html.contains("<img"));
    }

    #[test]
    fn plain_text_keeps_its_lines_and_shows_tags_as_text() {
        assert_eq!(
            body_html("Rivi 1\nRivi <b>2</b>\n\nKappale 2", false),
            "<p>Rivi 1<br>Rivi &lt;b&gt;2&lt;/b&gt;</p><p>Kappale 2</p>"
        );
    }
}
