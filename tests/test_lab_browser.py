"""The lesson page in a real browser: headless Chromium renders it, from a
file and from ``lab --serve``, in English and in Chinese.

What is checked is what a class would see: the rendered DOM holds a row for
every model measured, and the screenshot is a picture, not a blank page
(its pixels are read with zlib and struct: a PNG is a zlib stream of
filtered rows).  Skipped where Chromium is not installed.
"""

import shutil
import struct
import subprocess
import zlib

import pytest

from classicnet.lab import LAB_MODELS, WORKLOADS, Settings, run_lab, timeline_clients
from classicnet.lab.watching import LivePage

from conftest import needs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
BROWSER_TIMEOUT = 90          # a cold Chromium on a busy machine is slow to start

pytestmark = needs(CHROMIUM)


def chromium(target, profile, *action):
    """Run headless Chromium on *target* (a URL) with *action*; its output."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
         "--window-size=800,1000", *action, target],
        capture_output=True, timeout=BROWSER_TIMEOUT, check=True)
    return result.stdout.decode("utf-8")


def rendered(target, tmp_path):
    """``(DOM as text, screenshot as PNG bytes)`` of *target*."""
    dom = chromium(target, tmp_path / "profile", "--dump-dom")
    picture = tmp_path / "page.png"
    chromium(target, tmp_path / "profile", f"--screenshot={picture}")
    return dom, picture.read_bytes()


def _unfilter(kind, row, above, step):
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth), in place."""
    for i in range(len(row)):
        left = row[i - step] if i >= step else 0
        up = above[i]
        corner = above[i - step] if i >= step else 0
        if kind == 1:
            row[i] = (row[i] + left) & 255
        elif kind == 2:
            row[i] = (row[i] + up) & 255
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 255
        elif kind == 4:
            guess = left + up - corner
            nearest = min((abs(guess - left), 0, left), (abs(guess - up), 1, up),
                          (abs(guess - corner), 2, corner))[2]
            row[i] = (row[i] + nearest) & 255
    return row


def colours(png):
    """How many pixels of each colour an 8-bit RGB or RGBA PNG holds."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, data = 8, b""
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        chunk = png[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            data += chunk
        position += 12 + length
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    step = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(data), width * step
    counts, above = {}, bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]),
                        above, step)
        for x in range(0, stride, step):
            pixel = bytes(row[x:x + 3])
            counts[pixel] = counts.get(pixel, 0) + 1
        above = row
    return counts


def assert_not_blank(png):
    counts = colours(png)
    assert len(counts) >= 20, f"{len(counts)} colour(s): a blank page"
    assert max(counts.values()) < 0.97 * sum(counts.values())


def test_a_blank_picture_is_seen_as_blank():
    white = b"\x00" + b"\xff" * 12                     # one row of 4 white pixels
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 1, 8, 2, 0,
                                                            0, 0))
           + chunk(b"IDAT", zlib.compress(white)) + chunk(b"IEND", b""))
    assert colours(png) == {b"\xff\xff\xff": 4}
    with pytest.raises(AssertionError, match="1 colour"):
        assert_not_blank(png)


def chunk(kind, data):
    return struct.pack(">I4s", len(data), kind) + data + struct.pack(
        ">I", zlib.crc32(kind + data))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """One tiny lab run of every model, written as a page in both languages."""
    folder = tmp_path_factory.mktemp("pages")
    settings = Settings(workload=WORKLOADS["slow"], models=LAB_MODELS,
                        client_counts=[2], duration=0.2, delay=5,
                        requests_per_connection=2, processes=1)
    paths = {lang: folder / f"lesson-{lang}.html" for lang in ("en", "zh")}
    watchers = [LivePage([str(path)], [settings], lang, "machine: test",
                         timeline_clients) for lang, path in paths.items()]
    run_lab(settings, out=lambda line: None, observers=watchers)
    for watcher in watchers:
        watcher.finish()
    return paths


@pytest.mark.parametrize("lang, heading", [("en", "Workload slow"), ("zh", "负载 slow")])
def test_the_page_renders_every_model_in_chromium(pages, tmp_path, lang, heading):
    dom, png = rendered(pages[lang].as_uri(), tmp_path)
    assert f"<h2>{heading}</h2>" in dom
    for model in LAB_MODELS:
        assert f'<tr data-model="{model}">' in dom, model
    assert dom.count("<svg") == 1
    assert_not_blank(png)


def test_lab_serve_shows_the_page_in_chromium(cli, tmp_path):
    lab = cli("lab", "--workload", "echo", "--clients", "2", "--models",
              "plain,threading", "--duration", "0.1", "--processes", "1",
              "--no-ceiling", "--lang", "zh", "--serve")
    url = lab.ready_line.split(" is at ")[1].split(",")[0]
    while not lab.readline(BROWSER_TIMEOUT).startswith("the page stays on"):
        pass
    dom, png = rendered(url, tmp_path)
    assert "全部运行完毕。" in dom
    assert '<tr data-model="plain">' in dom and '<tr data-model="threading">' in dom
    assert_not_blank(png)
    lab.ctrl_c()
    assert lab.wait() == 0
