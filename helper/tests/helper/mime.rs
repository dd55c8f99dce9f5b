//! The streaming MIME reader on the samples: details, decoded bodies, exact attachments.

use sealpost_helper::mime;

use crate::common::samples;

/// Hands out at most `n` bytes per read, so that lines and boundaries straddle reads.
struct Trickle<R>(R, usize);

impl<R: std::io::Read> std::io::Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1);
        self.0.read(&mut buf[..n])
    }
}

fn attachments(path: &str) -> Vec<Vec<u8>> {
    let mut whole = attachments_through(path, usize::MAX);
    for n in [1, 2, 7, 76, 77, 4093] {
        let trickled = attachments_through(path, n);
        let lens = |v: &[Vec<u8>]| v.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(lens(&trickled), lens(&whole), "read {n} bytes at a time");
        assert!(trickled == whole, "read {n} bytes at a time: same sizes, other bytes");
    }
    std::mem::take(&mut whole)
}

fn attachments_through(path: &str, per_read: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let input = Trickle(std::fs::File::open(path).expect("sample"), per_read);
    mime::stream_attachments(input, |i, bytes| {
        if out.len() <= i {
            out.resize(i + 1, Vec::new());
        }
        out[i].extend_from_slice(bytes);
        Ok(())
    })
    .expect("stream");
    out
}

#[test]
fn alternative_bodies_and_non_ascii_attachment_names() {
    let file = std::fs::File::open(samples::ALTERNATIVE).expect("sample");
    let s = mime::scan(std::io::BufReader::new(file)).expect("scan");
    let d = &s.details;
    assert_eq!(d.from, "alice@acme.example");
    assert_eq!(d.to, ["bob@outside.example", "zoe@acme.example"]);
    assert_eq!(d.cc, ["carol@partner.example"]);
    assert_eq!(d.bcc, ["dave@hidden.example"]);
    assert_eq!(d.subject, "Q3 Zahlen – vertraulich ✓");
    assert_eq!(d.internet_message_id.as_deref(), Some("<q3-figures@acme.example>"));
    assert_eq!(d.date.as_deref(), Some("2026-11-22T10:00:00+01:00"));
    let text = d.text.as_deref().expect("text body");
    assert!(text.contains("die Q3-Zahlen hängen an. Grüße aus Zürich."), "{text}");
    assert!(
        text.contains(&format!("weich umbrochen wird: {}", "x".repeat(120))),
        "soft breaks joined"
    );
    let html = d.html.as_deref().expect("html body");
    assert!(html.contains("<b>Q3-Zahlen</b> hängen an"), "{html}");

    let names: Vec<_> =
        s.attachments.iter().map(|a| (a.name.as_str(), a.content_type.as_str())).collect();
    assert_eq!(names, [("Bericht Grüße.pdf", "application/pdf"), ("東京 figures.csv", "text/csv")]);
    let (pdf, csv) = (samples::report_pdf(), samples::figures_csv());
    assert_eq!(s.attachments[0].size, pdf.len() as u64);
    assert_eq!(s.attachments[1].size, csv.len() as u64);
    assert_eq!(
        attachments(samples::ALTERNATIVE),
        [pdf, csv],
        "decoded bytes, through a tiny read buffer"
    );
}

#[test]
fn nested_multiparts_inline_images_and_forwarded_messages() {
    let file = std::fs::File::open(samples::NESTED).expect("sample");
    let s = mime::scan(std::io::BufReader::new(file)).expect("scan");
    assert_eq!(s.details.text.as_deref(), Some("Plain version: the contract is attached.\r\n"));
    assert!(s.details.html.as_deref().expect("html").contains("<img src=\"cid:"));
    let got: Vec<_> =
        s.attachments.iter().map(|a| (a.name.as_str(), a.content_type.as_str())).collect();
    assert_eq!(
        got,
        [
            ("logo.png", "image/png"),
            ("contract.bin", "application/octet-stream"),
            ("question.eml", "message/rfc822")
        ]
    );
    let cid = s.attachments[0].content_id.as_deref().expect("inline image has a Content-ID");
    assert!(s.details.html.as_deref().expect("html").contains(&format!("cid:{cid}")));
    let bytes = attachments(samples::NESTED);
    assert_eq!(bytes[0], samples::logo_png());
    assert_eq!(bytes[1], samples::contract_bin());
    let forwarded = String::from_utf8(bytes[2].clone()).expect("utf-8");
    assert!(forwarded.starts_with("From: carol@partner.example"), "{forwarded}");
    assert!(forwarded.trim_end().ends_with("Could you send the contract?"), "{forwarded}");
    for (a, b) in s.attachments.iter().zip(&bytes) {
        assert_eq!(a.size, b.len() as u64, "{}: the scan's size is the streamed size", a.name);
    }
}

#[test]
fn broken_input_gets_a_clear_error() {
    let e = mime::scan(&b"just some words\nwithout headers\n"[..]).expect_err("no headers");
    assert_eq!(e.code(), "bad_message");
    let e = mime::scan(&b"To: bob@outside.example\nSubject: x\n\nbody\n"[..]).expect_err("no From");
    assert!(e.to_string().contains("no From"), "{e}");
    let broken = "From: a@acme.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
                  Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n%%%%\n--b--\n";
    let r = mime::stream_attachments(broken.as_bytes(), |_, _| Ok(()));
    assert!(r.is_ok(), "non-alphabet characters are skipped, as mail readers do: {r:?}");
}
