"""tickets.mail.sanitize: the one sanitising policy (no Django)."""

from tickets.mail.sanitize import MAX_SANITIZE, content_id_of, sanitize_html


def test_safe_formatting_tables_and_links_are_kept():
    html = (
        '<p style="color: red; position: fixed">Hi <b>bold</b> <i>it</i></p>'
        '<table border="1"><tr><td valign="top">cell</td></tr></table>'
        '<a href="https://example.test/x">link</a>'
    )
    clean = sanitize_html(html)
    assert '<p style="color:red">' in clean  # position is not an allowed style property
    assert "<b>bold</b>" in clean and "<i>it</i>" in clean
    assert '<td valign="top">cell</td>' in clean and '<table border="1">' in clean
    assert '<a href="https://example.test/x" rel="noopener noreferrer nofollow">link</a>' in clean


def test_scripts_handlers_and_javascript_urls_are_removed():
    clean = sanitize_html(
        '<p onclick="evil()">x</p><script>alert(1)</script><a href="javascript:alert(1)">y</a>'
        '<img src="x" onerror="evil()"><iframe src="https://example.test"></iframe>'
    )
    assert "onclick" not in clean and "onerror" not in clean
    assert "script" not in clean and "alert" not in clean and "iframe" not in clean


def test_cid_images_are_pointed_at_the_given_urls():
    html = '<img src="cid:logo@x" alt="logo"><img src="CID:%3Cphoto%40x%3E"><img src="cid:unknown@x">'
    clean = sanitize_html(
        html, cid_urls={"logo@x": "/desk/attachments/7/", "photo@x": "/desk/attachments/8/"}
    )
    assert '<img src="/desk/attachments/7/" alt="logo">' in clean
    assert '<img src="/desk/attachments/8/">' in clean
    assert '<img src="cid:unknown@x">' in clean  # shown as missing rather than silently dropped


def test_cid_urls_rewrite_only_image_sources():
    clean = sanitize_html('<a href="cid:logo@x">attached</a>', cid_urls={"logo@x": "/desk/attachments/7/"})
    assert 'href="cid:logo@x"' in clean


def test_content_id_of_a_cid_url_is_decoded():
    assert content_id_of("cid:part1.06090408.01060107@example.com") == "part1.06090408.01060107@example.com"
    assert content_id_of("cid:%3Cfoo%40bar.net%3E") == "foo@bar.net"


def test_empty_and_oversized_html_sanitise_to_nothing():
    assert sanitize_html("") == ""
    assert sanitize_html("   ") == ""
    assert sanitize_html("<p>" + "a " * MAX_SANITIZE + "</p>") == ""


def test_sanitising_twice_changes_nothing():
    once = sanitize_html('<div><p>a<b>b<table><tr><td>c</table><img src="cid:x" alt="y"></div>')
    assert sanitize_html(once) == once
