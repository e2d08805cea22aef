//! The `tiedoksi` command line for support staff.

use std::process::Command;

fn tiedoksi(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tiedoksi"))
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn legal_dates_prints_json() {
    let (ok, stdout, _) = tiedoksi(&[
        "legal-dates",
        "--sent",
        "2026-12-18",
        "--channel",
        "paper",
        "--appeal-days",
        "30",
    ]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["deemed_receipt"], "2026-12-25");
    assert_eq!(json["appeal_deadline"], "2027-01-25");
    assert_eq!(json["moved_from"], "2027-01-24");
    assert!(json["rule"].as_str().unwrap().contains("HL 59"));

    let (ok, stdout, _) = tiedoksi(&[
        "legal-dates",
        "--sent",
        "2026-12-18",
        "--channel",
        "electronic",
        "--acknowledged",
        "2026-12-22",
    ]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["deemed_receipt"], "2026-12-22");
    assert_eq!(json["appeal_deadline"], "2027-01-21");
    assert_eq!(json["moved_from"], serde_json::Value::Null);
}

#[test]
fn legal_dates_refuses_bad_input_clearly() {
    for (args, says) in [
        (
            vec!["legal-dates", "--sent", "2026-02-30", "--channel", "paper"],
            "--sent must be a real date",
        ),
        (
            vec!["legal-dates", "--sent", "18.12.2026", "--channel", "paper"],
            "YYYY-MM-DD",
        ),
        (
            vec!["legal-dates", "--sent", "2026-12-18", "--channel", "pigeon"],
            "invalid value 'pigeon'",
        ),
        (
            vec![
                "legal-dates",
                "--sent",
                "2026-12-18",
                "--channel",
                "paper",
                "--appeal-days",
                "0",
            ],
            "--appeal-days",
        ),
        (
            vec![
                "legal-dates",
                "--sent",
                "2026-12-18",
                "--channel",
                "paper",
                "--acknowledged",
                "2026-12-01",
            ],
            "cannot be before",
        ),
    ] {
        let (ok, stdout, stderr) = tiedoksi(&args);
        assert!(!ok, "{args:?}");
        assert!(stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
