//! The Outlook add-in as the platform serves it: one manifest URL for IT with this platform's
//! origin filled in, the add-in's files, the JavaScript runtime's allow-list, and pages Outlook
//! may frame while the Message Center and the API may not be framed at all.

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn the_manifest_names_this_platform_and_nothing_else() {
    let app = spawn_app_with(|_| {}).await;
    let r = app.get(None, "/outlook/manifest.xml").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().expect("text").starts_with("application/xml"));
    let xml = r.text().await.expect("body");
    assert!(!xml.contains("{{"), "every placeholder filled");
    assert!(xml.contains(&format!("{}/outlook/commands.js", app.base)));
    assert!(xml.contains(&format!("<AppDomain>{}</AppDomain>", app.base)));
    assert!(xml.contains(r#"SendMode="Block""#));
}

#[tokio::test]
async fn the_add_in_files_are_served_and_framable_only_by_outlook() {
    let app = spawn_app_with(|s| {
        s.outlook_frame_ancestors = "https://outlook.office.com https://owa.acme.example".into();
    })
    .await;
    for (file, kind) in [
        ("commands.html", "text/html"),
        ("commands.js", "text/javascript"),
        ("taskpane.html", "text/html"),
        ("taskpane.js", "text/javascript"),
        ("taskpane.css", "text/css"),
        ("icon-80.png", "image/png"),
    ] {
        let r = app.get(None, &format!("/outlook/{file}")).await;
        assert_eq!(r.status(), 200, "{file}");
        let h = r.headers();
        assert!(h["content-type"].to_str().expect("text").starts_with(kind), "{file}");
        assert!(h.get("x-frame-options").is_none(), "{file}: Outlook frames it");
        let csp = h["content-security-policy"].to_str().expect("text");
        assert!(
            csp.contains(
                "frame-ancestors 'self' https://outlook.office.com https://owa.acme.example"
            ),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self' https://appsforoffice.microsoft.com"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = r.bytes().await.expect("body");
        let built = std::fs::read(format!("../outlook-addin/dist/{file}")).expect("built file");
        assert_eq!(body.as_ref(), built.as_slice(), "{file} is the built file");
    }
    let r = app.get(None, "/outlook/../Cargo.toml").await;
    assert_eq!(r.status(), 404);
    let r = app.get(None, "/outlook/secret.js").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn the_center_and_the_api_stay_unframable() {
    let app = spawn_app_with(|_| {}).await;
    for path in ["/c/signin", "/api/v1/keys/platform", "/outlook/manifest.xml"] {
        let r = app.get(None, path).await;
        assert_eq!(r.headers()["x-frame-options"], "DENY", "{path}");
    }
    let r = app.get(None, "/c/signin").await;
    let csp = r.headers()["content-security-policy"].to_str().expect("text").to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn the_javascript_runtime_may_run_only_the_add_ins_script() {
    let app = spawn_app_with(|_| {}).await;
    let r = app.get(None, "/.well-known/microsoft-officeaddins-allowed.json").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v, serde_json::json!({"allowed": [format!("{}/outlook/commands.js", app.base)]}));
}
