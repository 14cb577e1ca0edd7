"""The lab in a real browser: it opens, every page renders without an exception, pages switch,
and a digit drawn with the mouse reaches the models."""

from __future__ import annotations

import pytest

from .conftest import draw_stroke, wait_idle

pytestmark = pytest.mark.browser

PAGES = [("gan", "GAN latent explorer"), ("gan_training", "GAN training, step by step"), ("real_or_fake", "Real or fake?"), ("autoencoders", "Autoencoder playground"), ("capsules", "Capsule viewer")]


def test_app_opens_and_switches_pages(page, app_url):
    page.goto(f"{app_url}/?lang=en")
    wait_idle(page)
    assert page.locator("h1").first.inner_text().strip() == "Advanced Deep Learning Lab"
    assert page.locator("[data-testid='stException']").count() == 0
    for slug, title in PAGES:
        page.locator(f"[data-testid='stSidebarNav'] a[href$='/{slug}']").click()
        page.wait_for_url(f"**/{slug}**")
        wait_idle(page)
        page.wait_for_selector(f"h1:has-text('{title}')")
        assert page.locator("[data-testid='stException']").count() == 0, slug


def test_every_page_opens_at_its_own_url_with_its_language_and_presentation_mode(page, app_url):
    # /home too: the default page lives at "/", and its own name must not say "Page not found"
    for slug, title in [("home", "Advanced Deep Learning Lab"), *PAGES]:
        page.goto(f"{app_url}/{slug}?lang=en&present=1")
        wait_idle(page)
        page.wait_for_selector(f"h1:has-text('{title}')")
        body = page.locator("body").inner_text()
        assert "Page not found" not in body and page.locator("[data-testid='stException']").count() == 0, slug
        assert "lang=en" in page.url and "present=1" in page.url, (slug, page.url)


def _visible_text(page) -> str:
    # icons are ligatures (their names as text, drawn by an icon font): not words of either language
    page.add_style_tag(content="[data-testid=stIconMaterial] { display: none !important; }")
    return page.locator("[data-testid='stMain']").inner_text()


@pytest.mark.parametrize("slug,title", [("", "app.title"), ("gan", "gan.title"), ("gan_training", "gtrain.title"), ("autoencoders", "ae.title"), ("capsules", "caps.title")])
def test_switching_the_language_changes_every_page_and_survives_a_reload(page, app_url, slug, title):
    from advdl.ui.i18n import STRINGS

    page.goto(f"{app_url}/{slug}?lang=en")
    wait_idle(page)
    page.wait_for_selector(f"h1:has-text('{STRINGS[title]['en']}')")
    english = _visible_text(page)
    page.locator("[data-testid='stSidebar'] label:has-text('中文')").click()
    wait_idle(page)
    page.wait_for_selector(f"h1:has-text('{STRINGS[title]['zh']}')")
    assert "lang=zh" in page.url
    chinese = _visible_text(page)
    # not just the title: most of the visible text is now Chinese, none of the English headings stay
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in chinese) > 40
    gone = [line for line in english.splitlines() if len(line) > 12 and line.isascii() and line in chinese]
    assert len(gone) <= 2, gone  # numbers and model names may stay; sentences may not
    page.reload()
    wait_idle(page)
    page.wait_for_selector(f"h1:has-text('{STRINGS[title]['zh']}')")
    assert page.locator("[data-testid='stException']").count() == 0


# Every text a page shows (its light DOM and the components' shadow roots, SVG chart text
# included; not styles or scripts), less what is meant to be another language or no language:
# the glossary's English column, the language switch, inline code (model identifiers), icon
# ligatures, and Streamlit's own "Skip to main content" link and <noscript> text.
PAGE_TEXT = """() => {
  const skip = '.st-key-glossary, .st-key-lesson-glossary, .st-key-lang_choice, code, [data-testid=stIconMaterial], [data-testid=stSkipToContent], style, script, noscript';
  const out = [];
  const walk = (root) => {
    const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let n = w.currentNode; n; n = w.nextNode()) {
      if (n.nodeType === 1) { if (n.shadowRoot) walk(n.shadowRoot); continue; }
      const el = n.parentElement;
      if (el && !el.closest(skip)) out.push(n.textContent);
    }
  };
  walk(document.body);
  return out.join(' ');
}"""

# Proper names (models, layers, people, datasets, libraries), symbols and units, as the course
# outline itself writes them in Chinese.
LATIN_ALLOWED = {
    "GAN", "DCGAN", "CNN", "CapsNet", "MNIST", "PCA", "UMAP", "PC", "PSNR", "SSIM", "BCE", "Fréchet", "SeFa", "GIF", "PNG", "JS",
    "ReLU", "LeakyReLU", "tanh", "softmax", "BN", "BP", "D", "G", "x", "y", "z", "L1", "L2", "Dropout", "one-hot", "word2vec",
    "seq2seq", "LSTM", "GRU", "BLEU", "VGG", "GoogLeNet", "Inception", "NIN", "ResNet", "Keras", "keras.io", "Sabour", "Adam",
    "SGD", "AMD", "EPYC", "NVIDIA", "H200", "x86_64", "CPU", "GPU", "dB", "px", "min", "s", "ms", "KB", "MB", "DOI",
    "PageDown", "PageUp", "Esc",  # keys, as the keyboard labels them
    "c", "û",  # the routing's symbols: coupling coefficients c, votes û
    "Conv1", "PrimaryCaps", "DigitCaps",  # the CapsNet's layers, as the paper names them
    "MultiMNIST",  # the paper's overlapping-digits data set
}


LATIN_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ](?:[A-Za-zÀ-ÖØ-öø-ÿ0-9_.'-]*[A-Za-zÀ-ÖØ-öø-ÿ0-9])?"  # "word2vec", "keras.io", "one-hot", "L1"


@pytest.mark.parametrize("slug", ["", "gan", "gan_training", "real_or_fake", "autoencoders", "capsules", "capsules?lesson=capsules&step=4"])
def test_a_page_in_chinese_shows_no_english_words(page, app_url, slug):
    import re

    page.goto(f"{app_url}/{slug}{'&' if '?' in slug else '?'}lang=zh")
    wait_idle(page)
    for summary in page.locator("[data-testid='stExpander'] summary").all():  # the notes too
        summary.click()
        wait_idle(page)
    page.wait_for_timeout(1500)  # charts drawn after the run
    words = set(re.findall(LATIN_WORD, page.evaluate(PAGE_TEXT)))
    assert words - LATIN_ALLOWED == set(), sorted(words - LATIN_ALLOWED)


OVERFLOW = """() => ['html', 'body', '[data-testid=stAppViewContainer]', '[data-testid=stMain]', '[data-testid=stMainBlockContainer]']
  .map(sel => document.querySelector(sel)).filter(Boolean)
  .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.tagName + ' ' + (e.dataset.testid || '') + ' ' + e.scrollWidth + '>' + e.clientWidth)"""


def _ae_main_images(page) -> list[float]:
    """Heights of the noise panel's five images (the noisy input and the four reconstructions)."""
    imgs = page.locator(".pscrub-img")
    imgs.first.wait_for(state="visible")
    assert imgs.count() == 5
    return [imgs.nth(i).bounding_box()["height"] for i in range(5)]


@pytest.mark.parametrize("lab", ["gan", "autoencoders", "capsules"])
def test_presentation_mode_fits_a_1280x720_projector(browser, app_url, lab):
    from advdl.ui.i18n import STRINGS

    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = ctx.new_page()
    try:
        pg.goto(f"{app_url}/{lab}?lang=en&present=1")
        wait_idle(pg)
        pg.wait_for_timeout(500)
        assert pg.locator("[data-testid='stException']").count() == 0
        assert pg.evaluate(OVERFLOW) == []  # no horizontal scrollbar anywhere in the page's frame
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= 1280
        if lab == "autoencoders":
            heights = _ae_main_images(pg)  # the noisy input and the four reconstructions
        else:
            img = pg.locator(".scrub-img").first  # the generated digit / the capsules' reconstruction
            img.wait_for(state="visible")
            heights = [img.bounding_box()["height"]]
        assert min(heights) >= 280, heights
        notes = {"gan": "gan.notes_title", "autoencoders": "ae.notes_title", "capsules": "caps.notes_title"}[lab]
        assert pg.locator(f"[data-testid='stExpander']:has-text('{STRINGS[notes]['en']}')").count() == 0  # notes hidden
    finally:
        ctx.close()


def test_drawn_digit_reaches_the_autoencoders(page, app_url):
    page.goto(f"{app_url}/autoencoders?lang=en")
    wait_idle(page)
    page.locator("label:has-text('Draw')").first.click()
    wait_idle(page)
    assert page.locator("text=The canvas is empty").count() == 1
    draw_stroke(page, [(100, 60), (220, 60), (150, 260)])  # a 7
    page.wait_for_selector("text=The 28×28 image the models see", timeout=30_000)
    wait_idle(page)
    assert page.locator(".pscrub-metrics:has-text('SSIM')").count() == 4  # under the four reconstructions
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_dot_is_read_and_a_canvas_full_of_ink_is_refused(page, app_url):
    page.goto(f"{app_url}/autoencoders?lang=en")
    wait_idle(page)
    page.locator("label:has-text('Draw')").first.click()
    wait_idle(page)
    draw_stroke(page, [(150, 150), (152, 151)])  # a single dot
    page.wait_for_selector("text=The 28×28 image the models see", timeout=30_000)
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    # now scribble over the whole canvas, in one stroke (one rerun, not twenty)
    zigzag = [p for y in range(8, 320, 16) for p in (((4, y), (316, y)) if y % 32 == 8 else ((316, y), (4, y)))]
    draw_stroke(page, zigzag)
    page.wait_for_selector("text=which is not a digit", timeout=30_000)
    wait_idle(page)
    assert page.locator("text=The 28×28 image the models see").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
    # the rest of the lab goes on: a sample digit still works
    page.locator("label:has-text('Sample digit')").first.click()
    wait_idle(page)
    page.wait_for_selector("text=The 28×28 image the models see", timeout=30_000)


def test_deep_link_on_a_fresh_server_goes_through_the_shell(browser, tmp_path):
    from .conftest import lab_checkpoints, start_server

    proc, url = start_server(lab_checkpoints(tmp_path / "ck"), tmp_path / "server.log")
    try:
        # several students open shared links at the same moment: the very first requests this
        # server sees, racing each other
        links = [("capsules", "Capsule viewer"), ("gan", "GAN latent explorer"), ("autoencoders", "Autoencoder playground")]
        pages = [browser.new_page() for _ in links]
        for pg, (slug, _) in zip(pages, links):
            pg.goto(f"{url}/{slug}?lang=en", wait_until="commit")
        for pg, (slug, title) in zip(pages, links):
            pg.wait_for_selector(f"h1:has-text('{title}')", timeout=90_000)
            wait_idle(pg)
            nav = pg.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
            assert any("GAN latent explorer" in n for n in nav), (slug, nav)
            assert "lang=en" in pg.url
            pg.close()
    finally:
        proc.terminate()
        proc.wait(10)


COUNT_CHANGES = """(selector) => {
  window.__changes = 0;
  const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
  roots.flatMap(r => [...r.querySelectorAll(selector)]).forEach(img => {
    let last = img.src;
    new MutationObserver(() => { if (img.src !== last) { last = img.src; window.__changes++; } })
      .observe(img, {attributes: true, attributeFilter: ['src']});
  });
}"""


def drag_and_count(page, label: str, fraction: float = 0.5, moves: int = 40, images: str = ".scrub-img") -> int:
    """Drag the scrubber slider ``label`` from its middle over ``fraction`` of its width, holding
    the mouse down; return how often the shown images changed before release."""
    slider = page.locator(f"input[type=range][aria-label='{label}']")
    slider.scroll_into_view_if_needed()
    page.evaluate(COUNT_CHANGES, images)
    box = slider.bounding_box()
    y, x0 = box["y"] + box["height"] / 2, box["x"] + box["width"] / 2
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, moves + 1):
        page.mouse.move(x0 + i * fraction * box["width"] / moves, y)
    changes = page.evaluate("window.__changes")
    page.mouse.up()
    return changes


@pytest.mark.parametrize("lab,label", [("gan", "Direction 1"), ("capsules", "Dim 1")])
def test_scrubber_morphs_while_dragging_and_commits_on_release(page, app_url, lab, label):
    page.goto(f"{app_url}/{lab}?lang=en")
    wait_idle(page)
    page.locator(".scrub-img").first.wait_for(state="visible")
    assert drag_and_count(page, label, 0.45) >= 15  # the image follows the thumb before release
    wait_idle(page)
    page.wait_for_timeout(300)
    wait_idle(page)
    # after the rerun the server's new filmstrip starts at the committed step, not the centre
    assert page.locator(f"input[type=range][aria-label='{label}']").input_value() != "20"
    assert page.locator("[data-testid='stException']").count() == 0



def test_a_slider_keeps_the_keyboard_focus_through_its_commits_rerun(page, app_url):
    """A teacher steps a direction with the arrow keys: each step commits and reruns the lab,
    which sends new filmstrips; the slider stays the same focused element, so every key press
    steps it again."""
    page.goto(f"{app_url}/gan?lang=en")
    wait_idle(page)
    slider = page.locator("input[type=range][aria-label='Direction 3']")
    slider.evaluate("e => e.scrollIntoView({block: 'center'})")
    slider.focus()
    slider.evaluate("e => { window.__slider = e; }")
    img = page.locator(".scrub-img").first
    shown = {img.get_attribute("src")}
    for step in (19, 18, 17):
        page.keyboard.press("ArrowLeft")
        # the commit's rerun has written the new value into the URL
        page.wait_for_function(f"/dirs=20(%2C|,)20(%2C|,){step}(%2C|,)/.test(location.href)", timeout=30_000)
        wait_idle(page)
        shown.add(img.get_attribute("src"))
    assert slider.evaluate("e => e === window.__slider && e.getRootNode().activeElement === e")
    assert slider.input_value() == "17" and len(shown) == 4
    assert page.locator("[data-testid='stException']").count() == 0


def test_the_raw_latent_table_appears_when_its_expander_opens(page, app_url):
    """The table of all 100 dimensions is drawn only while its expander is open: closed, the page
    holds no table; a click opens it and the 10 x 10 grid of the latent arrives."""
    page.goto(f"{app_url}/gan?lang=en")
    wait_idle(page)
    assert page.locator("[data-testid='stDataFrame']").count() == 0
    page.locator("summary:has-text('All 100 latent dimensions')").click()
    page.locator("[data-testid='stDataFrame']").first.wait_for(state="visible", timeout=30_000)
    wait_idle(page)
    assert page.locator("button:has-text('Apply')").count() == 1
    assert page.locator("[data-testid='stException']").count() == 0

def test_noise_strength_changes_all_five_images_while_dragging(page, app_url):
    page.goto(f"{app_url}/autoencoders?lang=en")
    wait_idle(page)
    imgs = page.locator(".pscrub-img")
    imgs.first.wait_for(state="visible")
    before = [imgs.nth(i).get_attribute("src") for i in range(5)]
    metrics = page.locator(".pscrub-metrics").nth(1).inner_text()
    # 10 steps of the strength: each step swaps the five images, before the mouse is let go
    changes = drag_and_count(page, "Strength", 0.45, images=".pscrub-img")
    assert changes >= 5 * 8, changes
    wait_idle(page)
    after = [imgs.nth(i).get_attribute("src") for i in range(5)]
    assert all(a != b for a, b in zip(before, after))  # the input and every reconstruction moved
    assert page.locator(".pscrub-metrics").nth(1).inner_text() != metrics  # and their scores
    assert page.locator("input[type=range][aria-label='Strength']").input_value() != "10"  # committed
    assert page.locator("[data-testid='stException']").count() == 0


def test_clicking_the_latent_map_shows_that_digit(page, app_url):
    page.goto(f"{app_url}/autoencoders?lang=en")
    wait_idle(page)
    plot = page.locator("[data-testid='stVegaLiteChart']").filter(has=page.locator("text=PC 1")).first
    plot.scroll_into_view_if_needed()
    plot.wait_for(state="visible")
    page.wait_for_timeout(500)
    # the centre of the class-3 point farthest from any other point (so that the click hits it
    # and nothing else), from the points Vega drew (each an SVG path labelled with its fields)
    xy = plot.evaluate(
        """(el) => { const all = [...el.querySelectorAll("g.mark-symbol path[aria-label*='Class: ']")].map(p => {
                       const r = p.getBoundingClientRect();
                       return [p.getAttribute('aria-label').split('Class: ')[1], [r.left + r.width / 2, r.top + r.height / 2]]; });
                     let best = null, far = -1;
                     for (const [c, p] of all) { if (c !== '3') continue;
                       const near = Math.min(...all.filter(([, q]) => q !== p).map(([, q]) => Math.hypot(p[0] - q[0], p[1] - q[1])));
                       if (near > far) { far = near; best = p; } }
                     return best; }"""
    )
    page.mouse.click(xy[0], xy[1])
    page.wait_for_selector("text=The picked test digit (3)", timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_walk_through_the_labs_requests_only_the_app_itself(page, app_url):
    from urllib.parse import urlparse

    hosts, paths = set(), set()

    def seen(req) -> None:
        if req.url.startswith(("http", "ws")):
            hosts.add(urlparse(req.url).hostname)
            paths.add(urlparse(req.url).path)

    page.on("request", seen)
    for path in ["/?lang=en", "/gan?lang=en", "/autoencoders?lang=en", "/capsules?lang=en"]:
        page.goto(f"{app_url}{path}")
        wait_idle(page)
        page.wait_for_timeout(500)
    page.locator("label:has-text('Draw')").first.click()
    wait_idle(page)
    assert hosts == {"127.0.0.1"}, hosts
    # the sliders' script and style come as files the browser caches, not inside every message
    # (both components share these two files; which registration's path the browser uses for each may vary)
    ours = {p.rsplit("/", 1)[-1] for p in paths if p.startswith("/_stcore/bidi-components/advdl.")}
    assert {"scrub.js", "scrub.css"} <= ours, sorted(p for p in paths if "bidi" in p)


def _shipped(name: str) -> bool:
    from advdl import checkpoints

    return name in checkpoints.available(checkpoints.ROOT / "checkpoints")


@pytest.mark.skipif(not _shipped("capsnet"), reason="needs the trained CapsNet checkpoint")
def test_a_vertical_stroke_is_read_as_a_one(page, app_url):
    page.goto(f"{app_url}/capsules?lang=en")
    wait_idle(page)
    page.locator("label:has-text('Draw')").first.click()
    wait_idle(page)
    draw_stroke(page, [(160, 50), (158, 150), (156, 270)])
    page.wait_for_selector("text=The 28×28 image the models see", timeout=30_000)
    wait_idle(page)
    value = page.locator("[data-testid='stMetric']:has-text('CapsNet reads') [data-testid='stMetricValue']").inner_text()
    assert value.strip() == "1"


def test_training_replay_arrives_after_the_page_and_then_scrubs_every_epoch(browser, tmp_path):
    """The replay's grids come after the lab is drawn (as one static file the browser fetches, the
    committed epoch inline): once they are in, a key press on the epoch slider shows another
    epoch's grid, with no rerun of the lab."""
    from conftest import write_replay

    from .conftest import lab_checkpoints, start_server

    root = lab_checkpoints(tmp_path / "ck")
    epochs = 6
    write_replay(root, epochs)
    proc, url = start_server(root, tmp_path / "server.log")
    try:
        page = browser.new_page()
        page.goto(f"{url}/gan?lang=en")
        wait_idle(page)
        slider = page.locator("input[type=range][aria-label='Epoch']")
        slider.scroll_into_view_if_needed()
        slider.evaluate("e => { window.__epoch = e; }")  # the frames arrive into this very element
        img = page.locator(".scrub:has(input[aria-label='Epoch']) .scrub-img")
        last = img.get_attribute("src")
        assert slider.input_value() == str(epochs - 1) and last.startswith("data:image/png")
        page.locator(".scrub[data-frames='all']:has(input[aria-label='Epoch'])").wait_for(timeout=30_000)
        # the 8 x 8 grid fits its narrow column whole, and stays square
        box = img.bounding_box()
        column = page.locator("[data-testid='stColumn']").filter(has=slider).first.bounding_box()
        assert box["x"] + box["width"] <= column["x"] + column["width"] + 1 and abs(box["width"] - box["height"]) < 1, (box, column)
        slider.focus()
        shown = set()
        for _ in range(epochs - 1):
            page.keyboard.press("ArrowLeft")
            shown.add(img.get_attribute("src"))
        assert len(shown | {last}) == epochs  # every epoch's own grid
        assert all(src.startswith("blob:") for src in shown)  # cut from the static file, not sent in a message
        assert slider.evaluate("e => e === window.__epoch")  # kept, not drawn anew, when the frames came
        wait_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        proc.terminate()
        proc.wait(10)
