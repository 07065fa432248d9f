//! Text put into HTML written by hand (mail bodies, the sandboxes' pages, the demo console): the
//! five characters that could open markup or end an attribute, escaped.

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_attributes_stay_text() {
        assert_eq!(
            super::escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
