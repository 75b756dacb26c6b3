"""The web app in a real browser: headless Debian Chromium driven by Playwright (no downloaded browser)."""

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from crnn.recognize import DEFAULT_CHECKPOINT

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_IMAGE = ROOT.parent / "shared" / "reference" / "20000-leagues-006.jpg"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
    pytest.mark.skipif(not REFERENCE_IMAGE.is_file(), reason="../shared/reference not present"),
    pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "model.keras").is_file(), reason="no committed checkpoint"),
]


@pytest.fixture()
def server(tmp_path):
    import uvicorn

    from crnn.web.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(DEFAULT_CHECKPOINT, tmp_path / "corrections")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tmp_path / "corrections"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def browser_page(server):
    """A Chromium tab on the app's page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(server[0])
        yield page
        browser.close()


def test_upload_see_correct_reload(server, browser_page, tmp_path):
    _, corrections = server
    page = browser_page
    page.set_input_files("#file", str(REFERENCE_IMAGE))
    page.wait_for_selector(".line input", timeout=120_000)
    assert page.locator(".box").count() == 24
    assert page.locator(".line input").count() == 24
    assert "LEAGUES" in page.locator(".line input").first.input_value().upper()

    page.locator(".box").nth(5).click()
    assert "active" in (page.locator(".line").nth(5).get_attribute("class") or "")

    edited = page.locator(".line input").nth(3)
    edited.fill("A corrected line of text.")
    page.click("#save")
    page.wait_for_selector("#status:has-text('saved 1 correction')", timeout=30_000)
    assert len(list(corrections.glob("*.gt.txt"))) == 1

    page.reload()
    page.set_input_files("#file", str(REFERENCE_IMAGE))
    page.wait_for_selector(".line input", timeout=120_000)
    assert page.locator(".line input").nth(3).input_value() == "A corrected line of text."
    assert page.locator(".line").nth(3).locator(".saved").inner_text() == "saved"
    shot = tmp_path / "webapp.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_page_uploaded_upside_down_is_shown_turned_with_its_boxes(browser_page, tmp_path):
    from PIL import Image

    turned = tmp_path / "upside-down.png"
    Image.open(REFERENCE_IMAGE).rotate(180).save(turned)
    page = browser_page
    page.set_input_files("#file", str(turned))
    page.wait_for_selector(".line input", timeout=120_000)
    assert page.evaluate("state.page.rotation_degrees") == 180
    assert "LEAGUES" in page.locator(".line input").first.input_value().upper()
    # the image shown is the turned one (the upright page), not the one uploaded
    thumb = page.evaluate("""() => { const img = document.querySelector('#viewer img');
        const c = document.createElement('canvas'); c.width = 48; c.height = 32;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0, 48, 32);
        return Array.from(g.getImageData(0, 0, 48, 32).data); }""")

    def distance(image) -> float:
        pixels = list(image.convert("RGBA").resize((48, 32), Image.BILINEAR).tobytes())
        return sum(abs(a - b) for a, b in zip(thumb, pixels, strict=True)) / len(pixels)

    assert distance(Image.open(REFERENCE_IMAGE)) < distance(Image.open(turned)) / 3


def test_a_file_name_is_shown_as_text_never_as_markup(browser_page, tmp_path):
    import shutil as copier

    page = browser_page
    odd = tmp_path / '<img src=x onerror="window.injected=1">.jpg'
    copier.copy(REFERENCE_IMAGE, odd)
    page.set_input_files("#file", str(odd))
    # while the page is read, the status names the file as it is called
    page.wait_for_selector("#status:has-text('onerror')", timeout=30_000)
    assert page.locator("#status img").count() == 0
    assert page.evaluate("window.injected") is None
    page.wait_for_selector(".line input", timeout=120_000)


def test_a_pdf_is_read_a_page_at_a_time(browser_page, tmp_path):
    from PIL import Image

    from crnn.synth.pages import PageGenerator

    generator = PageGenerator(31)
    pages = [generator.generate(two_pages=False) for _ in range(2)]
    pdf = tmp_path / "book.pdf"
    pictures = [Image.fromarray(page.image) for page in pages]
    pictures[0].save(pdf, save_all=True, append_images=pictures[1:], resolution=300)
    page = browser_page
    page.set_input_files("#file", str(pdf))
    page.wait_for_selector("#page-number:has-text('page 1 of 2')", timeout=120_000)
    first = [page.locator(".line input").nth(i).input_value() for i in range(page.locator(".line input").count())]
    assert len(first) >= len(pages[0].lines) - 1
    # the page the browser shows is the page that was read, as the app sent it
    shown = page.locator("#viewer img").evaluate(
        "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])")
    assert shown == [pages[0].image.shape[1], pages[0].image.shape[0]]
    assert page.locator("#previous").is_disabled()
    page.click("#next")
    page.wait_for_selector("#page-number:has-text('page 2 of 2')", timeout=120_000)
    second = page.locator(".line input").first.input_value()
    assert second != first[0] and page.locator("#next").is_disabled()
