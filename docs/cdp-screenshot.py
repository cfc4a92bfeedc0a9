"""Screenshots a page of a running headless Chromium through the DevTools protocol.

The Aspire Dashboard renders over a websocket after the page's load event (Blazor Server),
so Chromium's own --screenshot, which fires at load, captures a blank page. This waits
until the page shows a given text, optionally clicks the element holding another text
(to open a span's details), then captures the viewport.

usage: cdp-screenshot.py DEVTOOLS_PORT URL WAIT_TEXT CLICK_TEXT OUT.png
Needs Debian's python3-websocket.
"""
import base64
import json
import sys
import time
import urllib.request

import websocket

port, url, wait_text, click_text, out = sys.argv[1:6]
deadline = time.monotonic() + 60

pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
page = next(p for p in pages if p["type"] == "page")
ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
next_id = 0


def call(method, **params):
    global next_id
    next_id += 1
    ws.send(json.dumps({"id": next_id, "method": method, "params": params}))
    while True:
        message = json.loads(ws.recv())
        if message.get("id") == next_id:
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            return message["result"]


def evaluate(expression):
    return call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


def wait_for(text):
    while time.monotonic() < deadline:
        if evaluate(f"document.body && document.body.innerText.includes({json.dumps(text)})"):
            return
        time.sleep(0.25)
    sys.exit(f"cdp-screenshot: '{text}' never appeared on {url}")


call("Page.enable")
call("Page.navigate", url=url)
wait_for(wait_text)
if click_text:
    # The trace grid's row whose span name is CLICK_TEXT: clicking it opens the span's
    # details (attributes, events) beside the grid.
    clicked = evaluate(f"""(() => {{
        const name = [...document.querySelectorAll('.span-name-container')].find(e => e.textContent.trim() === {json.dumps(click_text)});
        if (!name) return false;
        name.closest('tr').click();
        return true;
    }})()""")
    if not clicked:
        sys.exit(f"cdp-screenshot: nothing to click with '{click_text}'")
    wait_for("pvmd.byte_count_mismatch")
time.sleep(1.5)  # let the layout settle after the last render
shot = call("Page.captureScreenshot", format="png")
with open(out, "wb") as f:
    f.write(base64.b64decode(shot["data"]))
print(out)
