//! The paper letter: the notice rendered to one A4 PDF with the PDF attachments appended, as
//! Suomi.fi's paper mail takes exactly one PDF. Suomi.fi prints the address page itself
//! (`createAddressPage`), so the letter never carries a postal address — which also keeps a
//! protected (turvakielto) address off paper.
//!
//! krilla writes the PDF with the font embedded (Source Sans 3, OFL) and copies attachment
//! pages in; rustybuzz, the shaper krilla uses, measures words for line breaking. Rendering
//! is CPU work: call it inside `spawn_blocking`.

use std::sync::{Arc, LazyLock};

use krilla::configure::{ConfigurationBuilder, PdfVersion};
use krilla::error::KrillaError;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::pdf::{PdfDocument, PdfError};
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};

use crate::suomifi::limits::Limits;

static REGULAR_TTF: &[u8] = include_bytes!("../assets/fonts/SourceSans3-Regular.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../assets/fonts/SourceSans3-Bold.ttf");

/// A4 in PostScript points, and the tolerance when checking attachment pages.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const SIZE_TOLERANCE: f32 = 3.0;
/// 25 mm margins keep text clear of the printer's unprintable edge.
const MARGIN: f32 = 70.87;
const BODY_SIZE: f32 = 11.0;
const LINE_HEIGHT: f32 = 15.0;

/// What goes on the letter. Plain data: the caller opens nothing sealed for it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Letter {
    pub organisation_name: String,
    /// The sender's return address or contact lines, printed under the letterhead.
    pub sender_lines: Vec<String>,
    pub language: LetterLanguage,
    /// As printed: day.month.year. A decision's own date for a decision (HL 44 §), otherwise
    /// the day the letter was made.
    pub date: time::Date,
    pub case_reference: String,
    pub title: String,
    pub body: String,
    pub markdown: bool,
    /// Appeal or rectification instructions (from the template), on the letter's last page.
    pub appeal_instructions: Option<String>,
    /// A decision's header lines; empty for other notices.
    #[serde(default)]
    pub header: LetterHeader,
    /// The organisation's letterhead logo, a PNG or an SVG (base64), in the first page's top
    /// margin.
    #[serde(default)]
    pub logo: Option<String>,
}

/// The logo's height on the letter (about 13 mm) and its widest.
const LOGO_HEIGHT: f32 = 36.0;
const LOGO_MAX_WIDTH: f32 = 170.0;

/// The most a letterhead logo may weigh and measure.
pub const LOGO_MAX_BYTES: usize = 512 * 1024;
const LOGO_MAX_PIXELS: u32 = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoProblem {
    #[error("the logo is larger than 512 KB")]
    TooLarge,
    #[error("the logo is not a PNG or SVG image that can be read")]
    NotPng,
    #[error("the logo is wider or taller than 4000 pixels")]
    TooManyPixels,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoKind {
    Png,
    Svg,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn logo_kind(bytes: &[u8]) -> LogoKind {
    if bytes.starts_with(PNG_SIGNATURE) {
        LogoKind::Png
    } else {
        LogoKind::Svg
    }
}

/// An SVG as usvg reads it, with nothing outside the file: no image a path or URL names
/// (usvg would read local files), no fonts (text in a logo is not drawn; outline it).
fn svg_tree(bytes: &[u8]) -> Option<usvg::Tree> {
    let options = usvg::Options {
        resources_dir: None,
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: usvg::ImageHrefResolver::default_data_resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_data(bytes, &options).ok()?;
    (tree.size().width() > 0.0 && tree.size().height() > 0.0).then_some(tree)
}

/// A letterhead logo is accepted as a PNG that decodes whole, or an SVG that parses, of a
/// sensible size.
pub fn check_logo(bytes: &[u8]) -> Result<LogoKind, LogoProblem> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(LogoProblem::TooLarge);
    }
    if logo_kind(bytes) == LogoKind::Svg {
        // A compressed SVG (svgz) could unpack to any size: only plain text is taken.
        if bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(LogoProblem::NotPng);
        }
        let tree = svg_tree(bytes).ok_or(LogoProblem::NotPng)?;
        let size = tree.size();
        if size.width() > LOGO_MAX_PIXELS as f32 || size.height() > LOGO_MAX_PIXELS as f32 {
            return Err(LogoProblem::TooManyPixels);
        }
        return Ok(LogoKind::Svg);
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().map_err(|_| LogoProblem::NotPng)?;
    let info = reader.info();
    if info.width > LOGO_MAX_PIXELS || info.height > LOGO_MAX_PIXELS {
        return Err(LogoProblem::TooManyPixels);
    }
    let mut buffer = vec![0; reader.output_buffer_size().ok_or(LogoProblem::NotPng)?];
    reader
        .next_frame(&mut buffer)
        .map_err(|_| LogoProblem::NotPng)?;
    Ok(LogoKind::Png)
}

/// Draws the logo at the top right of the first page, in the margin above the text.
fn draw_logo(surface: &mut krilla::surface::Surface<'_>, logo: &str) {
    use base64::Engine;
    use krilla_svg::SurfaceExt;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(logo) else {
        return;
    };
    // Fitted into the margin by its aspect.
    let place = |surface: &mut krilla::surface::Surface<'_>, wide: f32, high: f32| {
        if wide <= 0.0 || high <= 0.0 {
            return None;
        }
        let aspect = wide / high;
        let width = (LOGO_HEIGHT * aspect).min(LOGO_MAX_WIDTH);
        let size = krilla::geom::Size::from_wh(width, width / aspect)?;
        surface.push_transform(&krilla::geom::Transform::from_translate(
            PAGE_WIDTH - MARGIN - width,
            (MARGIN - size.height()) / 2.0,
        ));
        Some(size)
    };
    match logo_kind(&bytes) {
        LogoKind::Png => {
            let Ok(image) = krilla::image::Image::from_png(bytes.into(), true) else {
                return;
            };
            let (wide, high) = image.size();
            if let Some(size) = place(surface, wide as f32, high as f32) {
                surface.draw_image(image, size);
                surface.pop();
            }
        }
        LogoKind::Svg => {
            let Some(tree) = svg_tree(&bytes) else {
                return;
            };
            if let Some(size) = place(surface, tree.size().width(), tree.size().height()) {
                surface.draw_svg(&tree, size, krilla_svg::SvgSettings::default());
                surface.pop();
            }
        }
    }
}

/// What a decision shows besides its date (HL 44 §, 53 e §); empty for other notices.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LetterHeader {
    /// The date printed is the decision's date.
    pub is_decision: bool,
    pub decision_maker: Option<String>,
    pub parties: Vec<String>,
    /// The contact person and how to reach them.
    pub contact: Option<String>,
    pub automated_decision: bool,
}

impl Letter {
    /// The lines under the date: who decided, the parties, the contact person and the case,
    /// each with its label — the same lines the electronic message's header carries.
    pub fn header_lines(&self) -> Vec<(&'static str, String)> {
        let labels = self.language.labels();
        let date = format!(
            "{}.{}.{}",
            self.date.day(),
            u8::from(self.date.month()),
            self.date.year()
        );
        let date_label = if self.header.is_decision {
            labels.decision_date
        } else {
            labels.date
        };
        let mut lines = vec![(date_label, date)];
        if let Some(maker) = &self.header.decision_maker {
            lines.push((labels.decision_maker, maker.clone()));
        }
        lines.push((labels.case_reference, self.case_reference.clone()));
        if !self.header.parties.is_empty() {
            lines.push((labels.parties, self.header.parties.join(", ")));
        }
        if let Some(contact) = &self.header.contact {
            lines.push((labels.contact, contact.clone()));
        }
        lines
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LetterLanguage {
    Fi,
    Sv,
    En,
}

impl LetterLanguage {
    pub fn parse(code: &str) -> Self {
        match code {
            "sv" => Self::Sv,
            "en" => Self::En,
            _ => Self::Fi,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Fi => "fi",
            Self::Sv => "sv",
            Self::En => "en",
        }
    }

    pub fn labels(self) -> Labels {
        match self {
            Self::Fi => Labels {
                date: "Päivämäärä",
                decision_date: "Päätöksen päivämäärä",
                decision_maker: "Päätöksen tekijä",
                case_reference: "Diaarinumero",
                parties: "Asianosaiset",
                contact: "Yhteyshenkilö",
                automated: "Päätös on tehty automaattisesti (hallintolaki 53 e §).",
                appeal: "Muutoksenhakuohjeet",
                page: "Sivu",
                of: "/",
            },
            Self::Sv => Labels {
                date: "Datum",
                decision_date: "Beslutsdatum",
                decision_maker: "Beslutsfattare",
                case_reference: "Diarienummer",
                parties: "Parter",
                contact: "Kontaktperson",
                automated: "Beslutet har fattats automatiskt (förvaltningslagen 53 e §).",
                appeal: "Anvisningar för ändringssökande",
                page: "Sida",
                of: "/",
            },
            Self::En => Labels {
                date: "Date",
                decision_date: "Date of decision",
                decision_maker: "Decision-maker",
                case_reference: "Case reference",
                parties: "Parties",
                contact: "Contact person",
                automated: "This decision was made by automated processing (Administrative Procedure Act, section 53 e).",
                appeal: "Appeal instructions",
                page: "Page",
                of: "/",
            },
        }
    }
}

/// The words printed around the content, in the letter's language.
pub struct Labels {
    pub date: &'static str,
    pub decision_date: &'static str,
    pub decision_maker: &'static str,
    pub case_reference: &'static str,
    pub parties: &'static str,
    pub contact: &'static str,
    pub automated: &'static str,
    pub appeal: &'static str,
    pub page: &'static str,
    pub of: &'static str,
}

/// A PDF attachment to append after the letter.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PdfAttachment {
    pub filename: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum LetterError {
    #[error("attachment {0:?} is not a readable PDF")]
    Unreadable(String),
    #[error("attachment {0:?} is encrypted or password protected")]
    Encrypted(String),
    #[error("attachment {0:?} has no pages")]
    NoPages(String),
    #[error("attachment {filename:?}: page {page} is not A4 ({width_mm} × {height_mm} mm)")]
    NotA4 {
        filename: String,
        page: usize,
        width_mm: u32,
        height_mm: u32,
    },
    #[error("the letter is {size} bytes, more than the {max} a paper letter may be")]
    TooLarge { size: usize, max: usize },
    #[error("the PDF could not be written: {0}")]
    Render(String),
    /// The worker that read the PDFs ran out of its memory or time (a decompression bomb) or
    /// stopped on them: the files are the problem.
    #[error("a PDF could not be processed within its limits: {0}")]
    Limits(String),
    /// The worker could not be run or answered nonsense: our problem, not the file's.
    #[error("the PDF worker failed: {0}")]
    Worker(String),
}

/// What a checked attachment brings to the letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttachmentPages {
    pub pages: usize,
    pub landscape_pages: usize,
}

/// Checks that an attachment can go on paper: a readable, unencrypted PDF of A4 pages
/// (portrait or landscape). Done when composing, so a bad file is refused before anything
/// is queued.
pub fn check_attachment(filename: &str, bytes: &[u8]) -> Result<AttachmentPages, LetterError> {
    let pdf = load(filename, bytes)?;
    let pages = pdf.pages();
    if pages.is_empty() {
        return Err(LetterError::NoPages(filename.to_string()));
    }
    let mut landscape_pages = 0;
    for (index, page) in pages.iter().enumerate() {
        let (width, height) = page.render_dimensions();
        let portrait = near(width, PAGE_WIDTH) && near(height, PAGE_HEIGHT);
        let landscape = near(width, PAGE_HEIGHT) && near(height, PAGE_WIDTH);
        if landscape {
            landscape_pages += 1;
        }
        if !portrait && !landscape {
            return Err(LetterError::NotA4 {
                filename: filename.to_string(),
                page: index + 1,
                width_mm: points_to_mm(width),
                height_mm: points_to_mm(height),
            });
        }
    }
    Ok(AttachmentPages {
        pages: pages.len(),
        landscape_pages,
    })
}

fn near(a: f32, b: f32) -> bool {
    (a - b).abs() <= SIZE_TOLERANCE
}

fn points_to_mm(points: f32) -> u32 {
    (points * 25.4 / 72.0).round() as u32
}

fn load(filename: &str, bytes: &[u8]) -> Result<krilla::pdf::Pdf, LetterError> {
    krilla::pdf::Pdf::new(bytes.to_vec()).map_err(|error| match error {
        hayro_syntax::LoadPdfError::Decryption(_) => LetterError::Encrypted(filename.to_string()),
        hayro_syntax::LoadPdfError::Invalid => LetterError::Unreadable(filename.to_string()),
    })
}

/// The rendered letter.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RenderedLetter {
    pub bytes: Vec<u8>,
    pub letter_pages: usize,
    pub total_pages: usize,
    /// Ask Suomi.fi to rotate landscape pages when any attachment has them.
    pub has_landscape_pages: bool,
}

/// Renders the letter and appends every page of each attachment.
pub fn render(
    letter: &Letter,
    attachments: &[PdfAttachment],
    limits: &Limits,
) -> Result<RenderedLetter, LetterError> {
    let mut attachment_pages = 0;
    let mut has_landscape_pages = false;
    for attachment in attachments {
        let checked = check_attachment(&attachment.filename, &attachment.bytes)?;
        attachment_pages += checked.pages;
        has_landscape_pages |= checked.landscape_pages > 0;
    }
    let pages = layout(letter);
    let bytes = match write(letter, &pages, attachments, PdfVersion::Pdf17) {
        // An attachment written as a newer PDF can only be copied into a file of its version.
        Err(KrillaError::Pdf(_, PdfError::VersionMismatch(version), _)) => {
            write(letter, &pages, attachments, version)
        }
        other => other,
    }
    .map_err(|error| LetterError::Render(error.to_string()))?;
    let max = limits.max_paper_pdf_bytes.min(limits.max_upload_bytes);
    if bytes.len() > max {
        return Err(LetterError::TooLarge {
            size: bytes.len(),
            max,
        });
    }
    Ok(RenderedLetter {
        bytes,
        letter_pages: pages.len(),
        total_pages: pages.len() + attachment_pages,
        has_landscape_pages,
    })
}

struct Fonts {
    regular: Font,
    bold: Font,
    regular_face: rustybuzz::Face<'static>,
    bold_face: rustybuzz::Face<'static>,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| Fonts {
    regular: Font::new(REGULAR_TTF.into(), 0).expect("the bundled regular font loads"),
    bold: Font::new(BOLD_TTF.into(), 0).expect("the bundled bold font loads"),
    regular_face: rustybuzz::Face::from_slice(REGULAR_TTF, 0).expect("regular face"),
    bold_face: rustybuzz::Face::from_slice(BOLD_TTF, 0).expect("bold face"),
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

/// One line of text placed on a page: `y` is the baseline from the top.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    weight: Weight,
    size: f32,
    x: f32,
    y: f32,
}

/// The width of `text` in points.
fn text_width(text: &str, weight: Weight, size: f32) -> f32 {
    let face = match weight {
        Weight::Regular => &FONTS.regular_face,
        Weight::Bold => &FONTS.bold_face,
    };
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    let shaped = rustybuzz::shape(face, &[], buffer);
    let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
    units as f32 * size / face.units_per_em() as f32
}

/// Breaks one paragraph into lines no wider than `width`; a word longer than a line is cut.
/// Words are measured once each and joined with the width of a space.
fn wrap(paragraph: &str, weight: Weight, size: f32, width: f32) -> Vec<String> {
    let space = text_width(" ", weight, size);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_width = 0.0;
    for word in paragraph.split_whitespace() {
        let word_width = text_width(word, weight, size);
        if !current.is_empty() && current_width + space + word_width <= width {
            current.push(' ');
            current.push_str(word);
            current_width += space + word_width;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if word_width <= width {
            current = word.to_string();
            current_width = word_width;
            continue;
        }
        for piece in cut_word(word, weight, size, width) {
            current_width = text_width(&piece, weight, size);
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            current = piece;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Cuts a word wider than a line into pieces that fit (at least one character each).
fn cut_word(word: &str, weight: Weight, size: f32, width: f32) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut piece_width = 0.0;
    for ch in word.chars() {
        let ch_width = text_width(ch.encode_utf8(&mut [0; 4]), weight, size);
        if !piece.is_empty() && piece_width + ch_width > width {
            pieces.push(std::mem::take(&mut piece));
            piece_width = 0.0;
        }
        piece.push(ch);
        piece_width += ch_width;
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// A block of the body: a paragraph, a heading or a list item.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Paragraph(String),
    Heading(String),
    Item(String),
    Gap,
}

/// Plain text keeps its line breaks; Markdown's headings and list items become bold lines and
/// bullets, and emphasis markers are dropped (the body is printed, not rendered as HTML).
fn blocks(body: &str, markdown: bool) -> Vec<Block> {
    let mut blocks = Vec::new();
    for raw in body.replace("\r\n", "\n").split('\n') {
        let line: String = raw
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if blocks.last() != Some(&Block::Gap) {
                blocks.push(Block::Gap);
            }
            continue;
        }
        if !markdown {
            blocks.push(Block::Paragraph(trimmed.to_string()));
            continue;
        }
        let unmarked = |text: &str| text.replace("**", "").replace("__", "");
        if let Some(heading) = trimmed.strip_prefix('#') {
            blocks.push(Block::Heading(unmarked(
                heading.trim_start_matches('#').trim(),
            )));
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            blocks.push(Block::Item(unmarked(item.trim())));
        } else {
            blocks.push(Block::Paragraph(unmarked(trimmed)));
        }
    }
    blocks
}

/// Places every line of the letter on pages.
fn layout(letter: &Letter) -> Vec<Vec<Line>> {
    let labels = letter.language.labels();
    let width = PAGE_WIDTH - 2.0 * MARGIN;
    let bottom = PAGE_HEIGHT - MARGIN;
    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let mut y = MARGIN;

    let put = |pages: &mut Vec<Vec<Line>>,
               y: &mut f32,
               text: String,
               weight: Weight,
               size: f32,
               x: f32| {
        if *y + LINE_HEIGHT > bottom {
            pages.push(Vec::new());
            *y = MARGIN;
        }
        *y += size.max(LINE_HEIGHT);
        pages.last_mut().expect("a page").push(Line {
            text,
            weight,
            size,
            x,
            y: *y,
        });
    };

    for line in wrap(&letter.organisation_name, Weight::Bold, 14.0, width) {
        put(&mut pages, &mut y, line, Weight::Bold, 14.0, MARGIN);
    }
    for sender in &letter.sender_lines {
        put(
            &mut pages,
            &mut y,
            sender.clone(),
            Weight::Regular,
            10.0,
            MARGIN,
        );
    }
    y += LINE_HEIGHT;
    for (label, value) in letter.header_lines() {
        let text = format!("{label}: {value}");
        for line in wrap(&text, Weight::Regular, BODY_SIZE, width) {
            put(&mut pages, &mut y, line, Weight::Regular, BODY_SIZE, MARGIN);
        }
    }
    if letter.header.automated_decision {
        for line in wrap(labels.automated, Weight::Regular, BODY_SIZE, width) {
            put(&mut pages, &mut y, line, Weight::Regular, BODY_SIZE, MARGIN);
        }
    }
    y += LINE_HEIGHT;
    for line in wrap(&letter.title, Weight::Bold, 14.0, width) {
        put(&mut pages, &mut y, line, Weight::Bold, 14.0, MARGIN);
    }
    y += LINE_HEIGHT / 2.0;

    let mut body = blocks(&letter.body, letter.markdown);
    if let Some(instructions) = &letter.appeal_instructions {
        body.push(Block::Gap);
        body.push(Block::Heading(labels.appeal.to_string()));
        body.extend(blocks(instructions, false));
    }
    for block in body {
        match block {
            Block::Gap => y += LINE_HEIGHT / 2.0,
            Block::Heading(text) => {
                for line in wrap(&text, Weight::Bold, 12.0, width) {
                    put(&mut pages, &mut y, line, Weight::Bold, 12.0, MARGIN);
                }
            }
            Block::Item(text) => {
                let indent = 14.0;
                for (index, line) in wrap(&text, Weight::Regular, BODY_SIZE, width - indent)
                    .into_iter()
                    .enumerate()
                {
                    if index == 0 {
                        let bullet = "•".to_string();
                        put(
                            &mut pages,
                            &mut y,
                            bullet,
                            Weight::Regular,
                            BODY_SIZE,
                            MARGIN,
                        );
                        y -= LINE_HEIGHT;
                    }
                    let x = MARGIN + indent;
                    put(&mut pages, &mut y, line, Weight::Regular, BODY_SIZE, x);
                }
            }
            Block::Paragraph(text) => {
                for line in wrap(&text, Weight::Regular, BODY_SIZE, width) {
                    put(&mut pages, &mut y, line, Weight::Regular, BODY_SIZE, MARGIN);
                }
            }
        }
    }
    let total = pages.len();
    for (index, page) in pages.iter_mut().enumerate() {
        let footer = format!("{} {} {} {}", labels.page, index + 1, labels.of, total);
        let x = PAGE_WIDTH - MARGIN - text_width(&footer, Weight::Regular, 9.0);
        page.push(Line {
            text: footer,
            weight: Weight::Regular,
            size: 9.0,
            x,
            y: PAGE_HEIGHT - MARGIN / 2.0,
        });
    }
    pages
}

fn write(
    letter: &Letter,
    pages: &[Vec<Line>],
    attachments: &[PdfAttachment],
    version: PdfVersion,
) -> Result<Vec<u8>, KrillaError> {
    let configuration = ConfigurationBuilder::new()
        .with_version(version)
        .finish()
        .unwrap_or_default();
    let mut document = Document::new_with(SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    });
    for (index, lines) in pages.iter().enumerate() {
        let mut page = document.start_page_with(
            PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is a valid size"),
        );
        let mut surface = page.surface();
        if let (0, Some(logo)) = (index, &letter.logo) {
            draw_logo(&mut surface, logo);
        }
        for line in lines {
            let font = match line.weight {
                Weight::Regular => FONTS.regular.clone(),
                Weight::Bold => FONTS.bold.clone(),
            };
            surface.draw_text(
                Point::from_xy(line.x, line.y),
                font,
                line.size,
                &line.text,
                false,
                TextDirection::LeftToRight,
            );
        }
        surface.finish();
        page.finish();
    }
    for attachment in attachments {
        // Checked by `render` before: loading cannot fail here.
        let Ok(pdf) = krilla::pdf::Pdf::new(attachment.bytes.clone()) else {
            continue;
        };
        let count = pdf.pages().len();
        let indices: Vec<usize> = (0..count).collect();
        document.embed_pdf_pages(&PdfDocument::new(Arc::new(pdf)), &indices);
    }
    document.set_metadata(
        Metadata::new()
            .title(letter.title.clone())
            .language(letter.language.code().to_string())
            .creator("Tiedoksi".to_string()),
    );
    document.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small PNG, made with the same crate that reads uploads.
    pub(crate) fn tiny_png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, width, height);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i % 251) as u8).collect();
            writer.write_image_data(&pixels).unwrap();
        }
        bytes
    }

    #[test]
    fn a_logo_is_accepted_only_as_a_png_that_decodes_whole() {
        let png = tiny_png(120, 40);
        assert_eq!(check_logo(&png), Ok(LogoKind::Png));
        assert_eq!(check_logo(SVG_LOGO.as_bytes()), Ok(LogoKind::Svg));
        assert_eq!(
            check_logo(b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\""),
            Err(LogoProblem::NotPng),
            "not well-formed"
        );
        assert_eq!(
            check_logo(b"<html>not a logo</html>"),
            Err(LogoProblem::NotPng)
        );
        // A valid SVG, gzipped (svgz): usvg would unpack it, whatever its size.
        const SVGZ: &[u8] = &[
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 179, 41, 46, 75, 87, 168, 200, 205, 201, 43, 182, 85,
            202, 40, 41, 41, 176, 210, 215, 47, 47, 47, 215, 43, 55, 214, 203, 47, 74, 215, 55, 50,
            48, 48, 208, 7, 170, 80, 82, 40, 207, 76, 41, 201, 176, 85, 50, 50, 80, 82, 200, 72,
            205, 76, 207, 40, 1, 179, 237, 108, 138, 82, 147, 75, 112, 72, 234, 219, 217, 128, 244,
            218, 1, 0, 132, 215, 209, 150, 99, 0, 0, 0,
        ];
        assert_eq!(check_logo(SVGZ), Err(LogoProblem::NotPng), "svgz");
        assert_eq!(
            check_logo(br#"<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="10"/>"#),
            Err(LogoProblem::TooManyPixels)
        );
        let mut cut = png.clone();
        cut.truncate(png.len() - 20);
        assert_eq!(check_logo(&cut), Err(LogoProblem::NotPng));
        assert_eq!(
            check_logo(&tiny_png(4001, 1)),
            Err(LogoProblem::TooManyPixels)
        );
        assert_eq!(
            check_logo(&vec![0; LOGO_MAX_BYTES + 1]),
            Err(LogoProblem::TooLarge)
        );
    }

    const SVG_LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="40" viewBox="0 0 120 40"><rect width="120" height="40" fill="#003479"/><circle cx="20" cy="20" r="12" fill="#fff"/><image xlink:href="/etc/hostname" width="10" height="10"/></svg>"##;

    #[test]
    fn an_svg_logo_is_drawn_as_vectors_and_reads_no_files() {
        use base64::Engine;
        // An <image> naming a local file (a real PNG) is not loaded.
        let file = std::env::temp_dir().join(format!("logo-{}.png", std::process::id()));
        std::fs::write(&file, tiny_png(4, 4)).unwrap();
        let naming = SVG_LOGO.replace("/etc/hostname", &file.to_string_lossy());
        let tree = svg_tree(naming.as_bytes()).unwrap();
        let _ = std::fs::remove_file(&file);
        assert_eq!(
            tree.root().children().len(),
            2,
            "the rectangle and the circle only"
        );
        let limits = Limits::default();
        let plain = render(&letter("Hakemus hyväksytään."), &[], &limits).unwrap();
        let drawn = render(
            &Letter {
                logo: Some(base64::engine::general_purpose::STANDARD.encode(SVG_LOGO)),
                ..letter("Hakemus hyväksytään.")
            },
            &[],
            &limits,
        )
        .unwrap();
        assert!(drawn.bytes.len() > plain.bytes.len() + 50);
    }

    #[test]
    fn the_logo_is_drawn_on_the_letter() {
        use base64::Engine;
        let without = letter("Hakemus hyväksytään.");
        let with = Letter {
            logo: Some(base64::engine::general_purpose::STANDARD.encode(tiny_png(120, 40))),
            ..letter("Hakemus hyväksytään.")
        };
        let limits = Limits::default();
        let plain = render(&without, &[], &limits).unwrap();
        let drawn = render(&with, &[], &limits).unwrap();
        assert_eq!(
            plain.letter_pages, drawn.letter_pages,
            "the text does not move"
        );
        assert!(
            drawn.bytes.len() > plain.bytes.len() + 100,
            "the image is in the file"
        );
    }

    fn letter(body: &str) -> Letter {
        Letter {
            organisation_name: "Esimerkkikunta".into(),
            sender_lines: vec!["Kirjaamo, PL 1, 00100 Helsinki".into()],
            language: LetterLanguage::Fi,
            date: time::macros::date!(2026 - 12 - 18),
            case_reference: "DNRO 123/2026".into(),
            title: "Päätös toimeentulotuesta".into(),
            body: body.into(),
            markdown: false,
            appeal_instructions: Some("Oikaisuvaatimus 30 päivän kuluessa.".into()),
            header: LetterHeader::default(),
            logo: None,
        }
    }

    fn page_sizes(bytes: &[u8]) -> Vec<(f32, f32)> {
        let pdf = krilla::pdf::Pdf::new(bytes.to_vec()).expect("our PDF reads back");
        pdf.pages().iter().map(|p| p.render_dimensions()).collect()
    }

    #[test]
    fn a_short_letter_is_one_a4_page_with_the_font_embedded() {
        let rendered = render(&letter("Hei.\n\nTervetuloa."), &[], &Limits::default()).unwrap();
        assert_eq!(rendered.letter_pages, 1);
        let sizes = page_sizes(&rendered.bytes);
        assert_eq!(sizes.len(), 1);
        assert!(near(sizes[0].0, PAGE_WIDTH) && near(sizes[0].1, PAGE_HEIGHT));
        let text = String::from_utf8_lossy(&rendered.bytes);
        assert!(text.contains("FontFile2"), "the TrueType font is embedded");
        assert!(!text.contains("/SMask"), "no transparency");
    }

    #[test]
    fn a_long_body_flows_onto_more_pages_and_attachments_follow() {
        let long = "Pitkä kappale, jossa on monta sanaa ja joka jatkuu. ".repeat(400);
        let first = render(&letter(&long), &[], &Limits::default()).unwrap();
        assert!(first.letter_pages >= 3, "{} pages", first.letter_pages);

        let attachment = PdfAttachment {
            filename: "liite.pdf".into(),
            bytes: render(&letter("Liite"), &[], &Limits::default())
                .unwrap()
                .bytes,
        };
        let combined = render(&letter(&long), &[attachment], &Limits::default()).unwrap();
        assert_eq!(combined.total_pages, first.letter_pages + 1);
        assert_eq!(page_sizes(&combined.bytes).len(), combined.total_pages);
    }

    #[test]
    fn lines_never_run_past_the_margin() {
        let width = PAGE_WIDTH - 2.0 * MARGIN;
        let word = "Ylitarkastajanvirkavastuuvakuutusehtokokoelma".repeat(4);
        let text = format!("lyhyt {word} sana sana sana sana sana sana sana sana sana sana sana");
        let lines = wrap(&text, Weight::Regular, BODY_SIZE, width);
        assert!(lines.len() >= 3);
        for line in &lines {
            assert!(
                text_width(line, Weight::Regular, BODY_SIZE) <= width + 0.01,
                "{line}"
            );
        }
        let rejoined: String = lines.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(rejoined, original, "nothing lost in wrapping");
    }

    #[test]
    fn markdown_headings_and_items_are_printed_without_their_markers() {
        assert_eq!(
            blocks("# Päätös\n\n- **yksi**\n* kaksi\nteksti", true),
            vec![
                Block::Heading("Päätös".into()),
                Block::Gap,
                Block::Item("yksi".into()),
                Block::Item("kaksi".into()),
                Block::Paragraph("teksti".into()),
            ]
        );
        assert_eq!(
            blocks("# ei otsikko", false),
            vec![Block::Paragraph("# ei otsikko".into())]
        );
    }

    #[test]
    fn attachments_that_cannot_be_printed_are_refused_with_their_name() {
        assert_eq!(
            check_attachment("kuva.pdf", b"not a pdf at all"),
            Err(LetterError::Unreadable("kuva.pdf".into()))
        );
        let mut document = Document::new();
        let page = document.start_page_with(PageSettings::from_wh(612.0, 792.0).unwrap());
        page.finish();
        let letter_size = document.finish().unwrap();
        assert_eq!(
            check_attachment("letter.pdf", &letter_size),
            Err(LetterError::NotA4 {
                filename: "letter.pdf".into(),
                page: 1,
                width_mm: 216,
                height_mm: 279
            })
        );
    }

    #[test]
    fn a_letter_over_the_upload_limit_is_refused() {
        let limits = Limits {
            max_paper_pdf_bytes: 1_000,
            ..Limits::default()
        };
        assert!(matches!(
            render(&letter("Hei"), &[], &limits),
            Err(LetterError::TooLarge { max: 1_000, .. })
        ));
    }
}
