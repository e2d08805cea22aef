//! `make bench`: how fast the paper letter renders — a one-page letter, and a longer letter
//! with a multi-page PDF attachment appended — in one thread, as composing does it
//! (inside `spawn_blocking`). Prints figures; asserts nothing about speed.

use std::time::{Duration, Instant};

use tiedoksi::pdf::{render, Letter, LetterLanguage, PdfAttachment};
use tiedoksi::suomifi::limits::Limits;

const ROUNDS: usize = 200;

fn letter(body: String) -> Letter {
    Letter {
        organisation_name: "Esimerkkikunta".into(),
        sender_lines: vec!["Sosiaalipalvelut, PL 1, 00100 Helsinki".into()],
        language: LetterLanguage::Fi,
        date: time::macros::date!(2026 - 12 - 18),
        case_reference: "DNRO 123/2026".into(),
        title: "Päätös toimeentulotuesta".into(),
        body,
        markdown: false,
        appeal_instructions: Some("Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.".into()),
        header: Default::default(),
        logo: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn measure(name: &str, letter: &Letter, attachments: &[PdfAttachment]) {
    let limits = Limits::default();
    let first = render(letter, attachments, &limits).expect("renders");
    let mut times = Vec::with_capacity(ROUNDS);
    let started = Instant::now();
    for _ in 0..ROUNDS {
        let one = Instant::now();
        render(letter, attachments, &limits).expect("renders");
        times.push(one.elapsed());
    }
    let elapsed = started.elapsed();
    times.sort();
    println!("paper letter: {name}");
    println!(
        "  pages:        {} ({} of letter), {} bytes",
        first.total_pages,
        first.letter_pages,
        first.bytes.len()
    );
    println!(
        "  letters/s:    {:.0} (one thread)",
        ROUNDS as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  p50:          {:.2} ms",
        percentile(&times, 0.50).as_secs_f64() * 1000.0
    );
    println!(
        "  p95:          {:.2} ms",
        percentile(&times, 0.95).as_secs_f64() * 1000.0
    );
}

fn main() {
    let paragraph = "Hakemuksenne on käsitelty. Päätöksen perustelut ja sovelletut säännökset on \
                     kerrottu alla. Päätökseen tyytymätön voi hakea siihen muutosta. ";
    measure(
        "one page, no attachments",
        &letter(paragraph.repeat(5)),
        &[],
    );
    let attachment_text = paragraph.repeat(180);
    let attachment =
        render(&letter(attachment_text), &[], &Limits::default()).expect("an attachment renders");
    let attachments = [PdfAttachment {
        filename: "liite.pdf".into(),
        bytes: attachment.bytes,
    }];
    measure(
        "a longer letter + a multi-page PDF attachment",
        &letter(paragraph.repeat(50)),
        &attachments,
    );
}
