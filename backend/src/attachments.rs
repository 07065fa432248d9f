//! The attachment store (issue 18): files customers and operators upload for tickets, and the
//! business licence of an enterprise submission. Kept in the database (`attachments`), so every
//! server process sees them and a database backup holds them.
//!
//! A file's type is found from its first bytes, never from its name or the Content-Type it was
//! sent with: PNG, JPEG, PDF, XLSX, ZIP, or UTF-8 text; anything else (a renamed executable, say)
//! is refused. The name is kept for the download, cleaned, with the found type's extension. An
//! upload belongs to the uploader's account until one message (or one submission) uses it; after
//! that it belongs to the ticket's account. Only that account and operators may read it, and
//! anyone else is answered as if it did not exist.

use billing::support::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_MESSAGE};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::Digest as _;
use sqlx::{Any, Row, Transaction};

use crate::store::Store;
use crate::support::SupportError;
use crate::time::{from_micros, to_micros};

/// What a file is, found from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    Png,
    Jpg,
    Pdf,
    Xlsx,
    Zip,
    Txt,
}

impl AttachmentKind {
    pub fn code(self) -> &'static str {
        match self {
            AttachmentKind::Png => "png",
            AttachmentKind::Jpg => "jpg",
            AttachmentKind::Pdf => "pdf",
            AttachmentKind::Xlsx => "xlsx",
            AttachmentKind::Zip => "zip",
            AttachmentKind::Txt => "txt",
        }
    }

    pub fn from_code(code: &str) -> Option<AttachmentKind> {
        [
            AttachmentKind::Png,
            AttachmentKind::Jpg,
            AttachmentKind::Pdf,
            AttachmentKind::Xlsx,
            AttachmentKind::Zip,
            AttachmentKind::Txt,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            AttachmentKind::Png => "image/png",
            AttachmentKind::Jpg => "image/jpeg",
            AttachmentKind::Pdf => "application/pdf",
            AttachmentKind::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            AttachmentKind::Zip => "application/zip",
            AttachmentKind::Txt => "text/plain; charset=utf-8",
        }
    }

    /// The extensions a name of this kind may end with (the first is added when it has none).
    fn extensions(self) -> &'static [&'static str] {
        match self {
            AttachmentKind::Png => &["png"],
            AttachmentKind::Jpg => &["jpg", "jpeg"],
            AttachmentKind::Pdf => &["pdf"],
            AttachmentKind::Xlsx => &["xlsx"],
            AttachmentKind::Zip => &["zip"],
            AttachmentKind::Txt => &["txt", "log", "csv"],
        }
    }

    /// An image or a PDF: what a business licence may be.
    pub fn is_document_scan(self) -> bool {
        matches!(
            self,
            AttachmentKind::Png | AttachmentKind::Jpg | AttachmentKind::Pdf
        )
    }

    /// The kind of `content`, or `None` for anything not allowed.
    pub fn sniff(content: &[u8]) -> Option<AttachmentKind> {
        if content.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(AttachmentKind::Png);
        }
        if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(AttachmentKind::Jpg);
        }
        if content.starts_with(b"%PDF-") {
            return Some(AttachmentKind::Pdf);
        }
        if content.starts_with(b"PK\x03\x04") || content.starts_with(b"PK\x05\x06") {
            // An Office Open XML workbook is a ZIP whose entries name the workbook part; entry
            // names are stored uncompressed in the local headers.
            let has = |needle: &[u8]| content.windows(needle.len()).any(|w| w == needle);
            if has(b"[Content_Types].xml") && has(b"xl/workbook.xml") {
                return Some(AttachmentKind::Xlsx);
            }
            return Some(AttachmentKind::Zip);
        }
        let text = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
        if let Ok(text) = std::str::from_utf8(text)
            && !text.is_empty()
            && !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        {
            return Some(AttachmentKind::Txt);
        }
        None
    }
}

/// An attachment without its content: what lists and messages show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: i64,
    pub kind: AttachmentKind,
    pub file_name: String,
    pub size_bytes: i64,
    pub uploaded_at: DateTime<Utc>,
}

/// An attachment with its content: what a download sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    pub attachment: Attachment,
    pub content: Vec<u8>,
}

/// Who uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader {
    Customer { account_id: i64 },
    Operator { operator_id: i64 },
}

/// Who reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Customer { account_id: i64 },
    Operator,
}

/// A name safe to show and to put in `Content-Disposition`: the last path segment, without control
/// characters, quotes or separators, at most 100 characters, ending with an extension of `kind`.
pub fn clean_file_name(name: &str, kind: AttachmentKind) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '"' | ';' | '\\' | '/')
                // Bidirectional and other invisible format characters: a name must read as it is.
                && !matches!(*c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF)
        })
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(100)
        .collect();
    if clean.is_empty() {
        clean = "attachment".to_owned();
    }
    let extension = clean
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    if !extension.is_some_and(|ext| kind.extensions().contains(&ext.as_str())) {
        clean.push('.');
        clean.push_str(kind.extensions()[0]);
    }
    clean
}

pub(crate) fn attachment_of(row: &sqlx::any::AnyRow) -> Result<Attachment, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(Attachment {
        id: row.try_get("id")?,
        kind: AttachmentKind::from_code(&kind).unwrap_or(AttachmentKind::Zip),
        file_name: row.try_get("file_name")?,
        size_bytes: row.try_get("size_bytes")?,
        uploaded_at: from_micros(row.try_get("uploaded_at")?),
    })
}

const COLUMNS: &str = "id, kind, file_name, size_bytes, uploaded_at";

impl Store {
    /// Stores an upload after checking its size and finding its type.
    pub async fn upload_attachment(
        &self,
        uploader: Uploader,
        file_name: &str,
        content: &[u8],
    ) -> Result<Attachment, SupportError> {
        if content.is_empty() {
            return Err(SupportError::AttachmentEmpty);
        }
        if content.len() > MAX_ATTACHMENT_BYTES {
            return Err(SupportError::AttachmentTooLarge);
        }
        let kind = AttachmentKind::sniff(content).ok_or(SupportError::AttachmentTypeRefused)?;
        let (account_id, operator_id) = match uploader {
            Uploader::Customer { account_id } => (Some(account_id), None),
            Uploader::Operator { operator_id } => (None, Some(operator_id)),
        };
        let row = sqlx::query(&format!(
            "INSERT INTO attachments (account_id, uploaded_by_operator, kind, file_name, size_bytes, sha256, content, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        ))
        .bind(account_id)
        .bind(operator_id)
        .bind(kind.code())
        .bind(clean_file_name(file_name, kind))
        .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
        .bind(crate::auth::hex(&sha2::Sha256::digest(content)))
        .bind(content.to_vec())
        .bind(to_micros(self.now()))
        .fetch_one(self.pool())
        .await?;
        Ok(attachment_of(&row)?)
    }

    /// An attachment with its content, if `reader` may see it; otherwise the same
    /// `attachment_not_found` as for one that does not exist.
    pub async fn attachment_file(
        &self,
        reader: Reader,
        id: i64,
    ) -> Result<AttachmentFile, SupportError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, account_id, content FROM attachments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(SupportError::AttachmentNotFound)?;
        let owner: Option<i64> = row.try_get("account_id")?;
        let visible = match reader {
            Reader::Operator => true,
            Reader::Customer { account_id } => owner == Some(account_id),
        };
        if !visible {
            return Err(SupportError::AttachmentNotFound);
        }
        Ok(AttachmentFile {
            attachment: attachment_of(&row)?,
            content: row.try_get("content")?,
        })
    }
}

impl Store {
    /// Deletes uploads that no message or submission took, a day after they were uploaded (the
    /// scheduler, hourly): a form refused after its files were stored leaves nothing for long.
    pub async fn purge_unused_attachments(&self) -> Result<u64, sqlx::Error> {
        let before = to_micros(self.now() - chrono::Duration::days(1));
        Ok(
            sqlx::query("DELETE FROM attachments WHERE used_for IS NULL AND uploaded_at < $1")
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }

    /// Any attachment, for an operator: the download is audited against its account.
    pub async fn attachment_for_operator(
        &self,
        operator: &crate::auth::operators::Operator,
        id: i64,
        client: &str,
    ) -> Result<AttachmentFile, SupportError> {
        let file = self.attachment_file(Reader::Operator, id).await?;
        let account: Option<i64> =
            sqlx::query_scalar("SELECT account_id FROM attachments WHERE id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await?;
        let mut tx = self.begin_write().await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "attachment.view",
            account,
            &format!("#{id} {}", file.attachment.file_name),
            client,
            to_micros(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(file)
    }
}

/// Takes the uploads a message names: each must be the uploader's, not used before, and there may
/// be at most [`MAX_ATTACHMENTS_PER_MESSAGE`]. They then belong to the ticket's account.
pub(crate) async fn attach(
    tx: &mut Transaction<'static, Any>,
    uploader: Uploader,
    ids: &[i64],
    used_for: &str,
    ticket: Option<(i64, i64)>,
    account_id: i64,
) -> Result<Vec<Attachment>, SupportError> {
    if ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(SupportError::TooManyAttachments);
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(SupportError::AttachmentInUse);
    }
    let (ticket_id, message_id) = match ticket {
        Some((ticket_id, message_id)) => (Some(ticket_id), Some(message_id)),
        None => (None, None),
    };
    let mut attached = Vec::with_capacity(ids.len());
    for id in ids {
        let (owner_column, owner) = match uploader {
            Uploader::Customer { account_id } => ("account_id", account_id),
            Uploader::Operator { operator_id } => ("uploaded_by_operator", operator_id),
        };
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, used_for FROM attachments WHERE id = $1 AND {owner_column} = $2"
        ))
        .bind(*id)
        .bind(owner)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(SupportError::AttachmentNotFound)?;
        if row.try_get::<Option<String>, _>("used_for")?.is_some() {
            return Err(SupportError::AttachmentInUse);
        }
        let updated = sqlx::query(
            "UPDATE attachments SET used_for = $1, ticket_id = $2, message_id = $3, account_id = $4 \
             WHERE id = $5 AND used_for IS NULL",
        )
        .bind(used_for)
        .bind(ticket_id)
        .bind(message_id)
        .bind(account_id)
        .bind(*id)
        .execute(&mut **tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(SupportError::AttachmentInUse);
        }
        attached.push(attachment_of(&row)?);
    }
    Ok(attached)
}

/// The attachments of a ticket's messages, by message id.
pub(crate) async fn of_messages(
    store: &Store,
    ticket_id: i64,
) -> Result<std::collections::HashMap<i64, Vec<Attachment>>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS}, message_id FROM attachments WHERE ticket_id = $1 ORDER BY id"
    ))
    .bind(ticket_id)
    .fetch_all(store.pool())
    .await?;
    let mut by_message: std::collections::HashMap<i64, Vec<Attachment>> = Default::default();
    for row in &rows {
        let message: Option<i64> = row.try_get("message_id")?;
        if let Some(message) = message {
            by_message
                .entry(message)
                .or_default()
                .push(attachment_of(row)?);
        }
    }
    Ok(by_message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_found_from_the_content() {
        assert_eq!(
            AttachmentKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(AttachmentKind::Png)
        );
        assert_eq!(
            AttachmentKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F']),
            Some(AttachmentKind::Jpg)
        );
        assert_eq!(
            AttachmentKind::sniff(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"),
            Some(AttachmentKind::Pdf)
        );
        assert_eq!(
            AttachmentKind::sniff(
                b"PK\x03\x04\x14\0\0\0\x08\0[Content_Types].xml....PK\x03\x04xl/workbook.xml"
            ),
            Some(AttachmentKind::Xlsx)
        );
        assert_eq!(
            AttachmentKind::sniff(b"PK\x03\x04\x14\0\0\0\x08\0notes.txt"),
            Some(AttachmentKind::Zip)
        );
        assert_eq!(
            AttachmentKind::sniff("订单号 2026120700001\r\n".as_bytes()),
            Some(AttachmentKind::Txt)
        );
        assert_eq!(
            AttachmentKind::sniff(b"\xEF\xBB\xBFhello"),
            Some(AttachmentKind::Txt)
        );
    }

    #[test]
    fn executables_and_binary_data_are_refused_whatever_their_name() {
        // A Windows executable, an ELF binary, a Mach-O, a GIF, bytes that are not UTF-8, a NUL.
        for content in [
            &b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF"[..],
            b"\x7FELF\x02\x01\x01\0",
            b"\xCF\xFA\xED\xFE\x07\0\0\x01",
            b"GIF89a\x01\0\x01\0",
            b"\xC3\x28 not utf-8",
            b"text\0with a NUL",
            b"",
        ] {
            assert_eq!(AttachmentKind::sniff(content), None, "{content:?}");
        }
    }

    #[test]
    fn names_are_cleaned_and_end_with_the_found_type() {
        assert_eq!(
            clean_file_name("licence.PDF", AttachmentKind::Pdf),
            "licence.PDF"
        );
        assert_eq!(
            clean_file_name("C:\\Users\\me\\invoice.exe", AttachmentKind::Pdf),
            "invoice.exe.pdf"
        );
        assert_eq!(
            clean_file_name("../../etc/passwd", AttachmentKind::Txt),
            "passwd.txt"
        );
        assert_eq!(
            clean_file_name("a\"b;\r\nc.png", AttachmentKind::Png),
            "abc.png"
        );
        assert_eq!(
            clean_file_name("...", AttachmentKind::Zip),
            "attachment.zip"
        );
        // A right-to-left override would show "invoice\u{202E}fdp.exe" as "invoiceexe.pdf".
        assert_eq!(
            clean_file_name("invoice\u{202E}gpj.exe", AttachmentKind::Txt),
            "invoicegpj.exe.txt"
        );
        assert_eq!(clean_file_name("", AttachmentKind::Jpg), "attachment.jpg");
        assert_eq!(
            clean_file_name(&"长".repeat(300), AttachmentKind::Txt)
                .chars()
                .count(),
            104
        );
    }
}
