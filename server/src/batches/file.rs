//! A recipients file for sending to many: CSV (UTF-8, comma, semicolon or tab, as Excel saves
//! it in Finland) or XLSX (the first sheet). The first row names the columns, in Finnish,
//! Swedish or English; every later row is one recipient, numbered as the spreadsheet numbers
//! it (the header is row 1). CSV is read a row at a time, so a 100 000-row file never sits in
//! memory; an XLSX file is a zip that has to be opened whole and is limited in size.

use std::io::Read;

/// A column the file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    IdentityCode,
    Name,
    AdditionalName,
    StreetAddress,
    ZipCode,
    City,
    CountryCode,
    CaseReference,
    Mode,
    AddressProtected,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::IdentityCode,
        Column::Name,
        Column::AdditionalName,
        Column::StreetAddress,
        Column::ZipCode,
        Column::City,
        Column::CountryCode,
        Column::CaseReference,
        Column::Mode,
        Column::AddressProtected,
    ];

    /// The names a header may give it: Finnish first (the example file's), then Swedish and
    /// English.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Column::IdentityCode => &[
                "tunnus",
                "henkilötunnus",
                "y-tunnus",
                "hetu",
                "signum",
                "personbeteckning",
                "fo-nummer",
                "identity_code",
                "id",
            ],
            Column::Name => &["nimi", "namn", "name"],
            Column::AdditionalName => &["lisänimi", "c/o", "tilläggsnamn", "additional_name"],
            Column::StreetAddress => &[
                "katuosoite",
                "osoite",
                "gatuadress",
                "adress",
                "street_address",
            ],
            Column::ZipCode => &["postinumero", "postnummer", "zip_code", "postal_code"],
            Column::City => &["postitoimipaikka", "postanstalt", "ort", "city"],
            Column::CountryCode => &[
                "maa",
                "maakoodi",
                "land",
                "landskod",
                "country_code",
                "country",
            ],
            Column::CaseReference => &[
                "asianumero",
                "diaarinumero",
                "ärendenummer",
                "diarienummer",
                "case_reference",
            ],
            Column::Mode => &["toimitustapa", "leveranssätt", "mode"],
            Column::AddressProtected => &["turvakielto", "spärrmarkering", "address_protected"],
        }
    }

    /// The column's name in the example file and the results.
    pub fn example_name(self) -> &'static str {
        self.names()[0]
    }

    fn of_header(header: &str) -> Option<Column> {
        let header = header.trim().trim_start_matches('\u{feff}').to_lowercase();
        Column::ALL
            .into_iter()
            .find(|column| column.names().contains(&header.as_str()))
    }
}

/// The most rows one file may have.
pub const MAX_ROWS: u64 = 100_000;

pub use app::batches::FileProblem;

/// One recipient's cells, by column.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FileRow {
    /// The spreadsheet's row number (the header is 1).
    pub row_number: u64,
    pub cells: Vec<(Column, String)>,
}

impl std::fmt::Debug for FileRow {
    // Identity codes and addresses: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRow")
            .field("row_number", &self.row_number)
            .finish_non_exhaustive()
    }
}

impl FileRow {
    pub fn get(&self, column: Column) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

/// Which columns are where, and the headers that name nothing we know (ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    positions: Vec<(usize, Column)>,
    pub ignored: Vec<String>,
}

fn read_header(cells: &[String]) -> Result<Header, FileProblem> {
    let mut positions = Vec::new();
    let mut ignored = Vec::new();
    for (index, cell) in cells.iter().enumerate() {
        match Column::of_header(cell) {
            Some(column) if positions.iter().any(|(_, c)| *c == column) => {
                return Err(FileProblem::DuplicateColumn {
                    column: cell.trim().to_string(),
                })
            }
            Some(column) => positions.push((index, column)),
            None if cell.trim().is_empty() => {}
            None => ignored.push(cell.trim().to_string()),
        }
    }
    for required in [Column::IdentityCode, Column::Name] {
        if !positions.iter().any(|(_, c)| *c == required) {
            return Err(FileProblem::MissingColumn {
                column: required.example_name().to_string(),
            });
        }
    }
    Ok(Header { positions, ignored })
}

impl Header {
    fn row(&self, row_number: u64, cells: &[String]) -> Option<FileRow> {
        let cells: Vec<(Column, String)> = self
            .positions
            .iter()
            .map(|(index, column)| {
                let value = cells.get(*index).map(String::as_str).unwrap_or("");
                (*column, value.trim().to_string())
            })
            .collect();
        // An empty line (Excel leaves some at the end) is no recipient.
        if cells.iter().all(|(_, value)| value.is_empty()) {
            return None;
        }
        Some(FileRow { row_number, cells })
    }
}

/// The file's kind by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    Xlsx,
}

impl FileKind {
    pub fn of(filename: &str) -> Option<FileKind> {
        let lower = filename.trim().to_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".txt") {
            Some(FileKind::Csv)
        } else if lower.ends_with(".xlsx") {
            Some(FileKind::Xlsx)
        } else {
            None
        }
    }
}

/// The delimiter the header line uses most: `;` (Excel in Finland), `,` or tab.
fn delimiter(first_line: &str) -> u8 {
    [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

/// Reads a CSV file a row at a time, handing each recipient row to `each`; the header's
/// ignored columns are returned. Stops at the first file-level problem.
pub fn read_csv(
    reader: impl Read,
    mut each: impl FnMut(FileRow) -> bool,
) -> Result<Header, FileProblem> {
    use std::io::BufRead;
    // The first line decides the delimiter: read it, then go on with the rest.
    let mut reader = std::io::BufReader::new(reader);
    let mut start = Vec::new();
    (&mut reader)
        .take(64 * 1024)
        .read_until(b'\n', &mut start)
        .map_err(|_| FileProblem::Unreadable { row: 1 })?;
    let first_line = std::str::from_utf8(&start).map_err(|_| FileProblem::NotUtf8)?;
    if first_line.trim().trim_start_matches('\u{feff}').is_empty() {
        return Err(FileProblem::Empty);
    }
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter(first_line))
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::Cursor::new(start).chain(reader));
    let mut records = csv.records();
    let header = match records.next() {
        Some(Ok(record)) => read_header(&record.iter().map(str::to_string).collect::<Vec<_>>())?,
        Some(Err(error)) => return Err(csv_problem(&error, 1)),
        None => return Err(FileProblem::Empty),
    };
    let mut rows = 0u64;
    // Excel's row number: the header is row 1, and a blank row it saves (`;;;`) counts.
    for (index, record) in records.enumerate() {
        let row_number = index as u64 + 2;
        let record = record.map_err(|error| csv_problem(&error, row_number))?;
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if let Some(row) = header.row(row_number, &cells) {
            rows += 1;
            if rows > MAX_ROWS {
                return Err(FileProblem::TooManyRows { max: MAX_ROWS });
            }
            if !each(row) {
                break;
            }
        }
    }
    if rows == 0 {
        return Err(FileProblem::Empty);
    }
    Ok(header)
}

fn csv_problem(error: &csv::Error, row: u64) -> FileProblem {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => FileProblem::NotUtf8,
        _ => FileProblem::Unreadable { row },
    }
}

/// Reads the first sheet of an XLSX file.
pub fn read_xlsx(
    path: &std::path::Path,
    mut each: impl FnMut(FileRow) -> bool,
) -> Result<Header, FileProblem> {
    use calamine::{Data, Reader, Xlsx};
    let mut workbook: Xlsx<_> =
        calamine::open_workbook(path).map_err(|_| FileProblem::Unreadable { row: 1 })?;
    let Some(Ok(sheet)) = workbook.worksheet_range_at(0) else {
        return Err(FileProblem::Empty);
    };
    let text = |cell: &Data, column: Option<Column>| -> String {
        match cell {
            Data::Empty => String::new(),
            Data::String(text) => text.clone(),
            // A postal code typed as a number loses its leading zeros in Excel: 00100 → 100.
            Data::Float(number) if column == Some(Column::ZipCode) && number.fract() == 0.0 => {
                format!("{:05}", *number as i64)
            }
            Data::Int(number) if column == Some(Column::ZipCode) => format!("{number:05}"),
            Data::Float(number) if number.fract() == 0.0 => format!("{}", *number as i64),
            other => other.to_string(),
        }
    };
    let mut sheet_rows = sheet.rows();
    let Some(first) = sheet_rows.next() else {
        return Err(FileProblem::Empty);
    };
    let header = read_header(
        &first
            .iter()
            .map(|cell| text(cell, None))
            .collect::<Vec<_>>(),
    )?;
    let column_at = |index: usize| {
        header
            .positions
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, c)| *c)
    };
    let mut rows = 0u64;
    for (index, cells) in sheet_rows.enumerate() {
        let cells: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| text(cell, column_at(i)))
            .collect();
        if let Some(row) = header.row(index as u64 + 2, &cells) {
            rows += 1;
            if rows > MAX_ROWS {
                return Err(FileProblem::TooManyRows { max: MAX_ROWS });
            }
            if !each(row) {
                break;
            }
        }
    }
    if rows == 0 {
        return Err(FileProblem::Empty);
    }
    Ok(header)
}

/// A file's name as shown: its path and control characters gone.
pub fn clean_name(raw: &str) -> String {
    crate::notices::documents::clean_filename(raw)
}

/// The example file offered for download: every column, two rows.
pub fn example_csv() -> String {
    let header: Vec<&str> = Column::ALL.iter().map(|c| c.example_name()).collect();
    format!(
        "{}\n{}\n{}\n",
        header.join(";"),
        "150680-9039;Maija Meikäläinen;;Esimerkkikatu 1 A 2;00100;Helsinki;FI;DNRO 12/2027;multichannel;",
        "1234567-1;Esimerkki Oy;Talousosasto;PL 100;00101;Helsinki;FI;DNRO 13/2027;paper_only;",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(text: &str) -> Result<(Header, Vec<FileRow>), FileProblem> {
        let mut rows = Vec::new();
        let header = read_csv(text.as_bytes(), |row| {
            rows.push(row);
            true
        })?;
        Ok((header, rows))
    }

    #[test]
    fn semicolons_commas_and_a_bom_are_all_read_with_spreadsheet_row_numbers() {
        for text in [
            "\u{feff}tunnus;nimi;postinumero\n150680-9039;Maija;00100\n;;\n1234567-1;Yritys Oy;00101\n",
            "tunnus,nimi,postinumero\r\n150680-9039,Maija,00100\r\n,,\r\n1234567-1,Yritys Oy,00101\r\n",
        ] {
            let (_, rows) = rows_of(text).unwrap();
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].row_number, 2);
            assert_eq!(rows[1].row_number, 4, "the blank row keeps its number");
            assert_eq!(rows[1].get(Column::Name), Some("Yritys Oy"));
            assert_eq!(rows[0].get(Column::ZipCode), Some("00100"));
        }
    }

    #[test]
    fn headers_in_swedish_and_english_count_and_unknown_ones_are_ignored() {
        let (header, rows) =
            rows_of("Signum;Namn;Favourite colour\n150680-9039;Maija;blue\n").unwrap();
        assert_eq!(header.ignored, vec!["Favourite colour".to_string()]);
        assert_eq!(rows[0].get(Column::IdentityCode), Some("150680-9039"));
        let (_, rows) = rows_of("identity_code,name\n150680-9039,Maija\n").unwrap();
        assert_eq!(rows[0].get(Column::Name), Some("Maija"));
    }

    #[test]
    fn file_problems_stop_the_reading() {
        assert_eq!(
            rows_of("nimi;osoite\nMaija;Katu 1\n").unwrap_err(),
            FileProblem::MissingColumn {
                column: "tunnus".into()
            }
        );
        assert_eq!(
            rows_of("tunnus;nimi;Nimi\n1;2;3\n").unwrap_err(),
            FileProblem::DuplicateColumn {
                column: "Nimi".into()
            }
        );
        assert_eq!(rows_of("").unwrap_err(), FileProblem::Empty);
        assert_eq!(rows_of("tunnus;nimi\n\n").unwrap_err(), FileProblem::Empty);
        let latin1: &[u8] = b"tunnus;nimi\n150680-9039;M\xe4kinen\n";
        let mut seen = 0;
        assert_eq!(
            read_csv(latin1, |_| {
                seen += 1;
                true
            })
            .unwrap_err(),
            FileProblem::NotUtf8
        );
    }

    #[test]
    fn too_many_rows_is_a_file_problem() {
        let mut text = String::from("tunnus;nimi\n");
        for n in 0..=MAX_ROWS {
            text.push_str(&format!("x;{n}\n"));
        }
        assert_eq!(
            rows_of(&text).unwrap_err(),
            FileProblem::TooManyRows { max: MAX_ROWS }
        );
    }

    #[test]
    fn the_example_file_reads_back() {
        let (header, rows) = rows_of(&example_csv()).unwrap();
        assert!(header.ignored.is_empty());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get(Column::Mode), Some("paper_only"));
    }

    #[test]
    fn an_xlsx_sheet_reads_like_csv_and_keeps_a_postal_codes_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vastaanottajat.xlsx");
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        for (column, header) in ["Tunnus", "Nimi", "Postinumero", "Muistiinpano"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, column as u16, *header).unwrap();
        }
        sheet.write_string(1, 0, "150680-9039").unwrap();
        sheet.write_string(1, 1, "Maija").unwrap();
        // Typed as a number, as Excel keeps 00100 unless told otherwise.
        sheet.write_number(1, 2, 100.0).unwrap();
        sheet.write_string(3, 0, "1234567-1").unwrap();
        sheet.write_string(3, 1, "Yritys Oy").unwrap();
        workbook.save(&path).unwrap();

        let mut rows = Vec::new();
        let header = read_xlsx(&path, |row| {
            rows.push(row);
            true
        })
        .unwrap();
        assert_eq!(header.ignored, vec!["Muistiinpano".to_string()]);
        assert_eq!(rows.len(), 2, "the empty third row is no recipient");
        assert_eq!(rows[0].get(Column::ZipCode), Some("00100"));
        assert_eq!(rows[1].row_number, 4);
        assert_eq!(rows[1].get(Column::Name), Some("Yritys Oy"));

        std::fs::write(dir.path().join("rikki.xlsx"), b"not a zip").unwrap();
        assert_eq!(
            read_xlsx(&dir.path().join("rikki.xlsx"), |_| true).unwrap_err(),
            FileProblem::Unreadable { row: 1 }
        );
    }

    #[test]
    fn file_kinds_go_by_name() {
        assert_eq!(FileKind::of("vastaanottajat.CSV"), Some(FileKind::Csv));
        assert_eq!(FileKind::of("lista.xlsx"), Some(FileKind::Xlsx));
        assert_eq!(FileKind::of("lista.xls"), None);
    }
}
