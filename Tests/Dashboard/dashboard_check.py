#!/usr/bin/env python3
"""Drives brother's dashboard in headless Chromium (Debian's chromium, through Playwright):
the page shows the cluster from the live event stream, and a weight change made through the API
appears without a reload, and on a 390 px phone screen the page does not scroll sideways.
Optionally saves desktop and phone screenshots.

Usage: dashboard_check.py BASE_URL CLUSTER NODE [--screenshots DIR]
Exit 0 when every check passed; 1 with the reason otherwise."""
import argparse
import sys
import urllib.request

from playwright.sync_api import sync_playwright


def fail(message):
    print(f"dashboard check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("cluster")
    parser.add_argument("node")
    parser.add_argument("--screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{args.base}/dashboard")
        row = f'section[data-cluster="{args.cluster}"] tr[data-node="{args.node}"]'
        page.wait_for_selector(row, timeout=10000)
        before = page.inner_text(f'{row} [data-role="weight"]')
        if before in ("", "0"):
            fail(f"the node should have weight before the force, shows {before!r}")
        loaded_at = page.evaluate("window.__dashboardLoadedAt")
        if page.inner_text("#live") != "live":
            fail("the page is not fed by the live stream")
        if args.screenshots:
            page.screenshot(path=f"{args.screenshots}/dashboard.png", full_page=True)

        request = urllib.request.Request(
            f"{args.base}/cluster/{args.cluster}/nodes/{args.node}/down", data=b"reason=dashboard+test", method="PUT")
        with urllib.request.urlopen(request) as answer:
            if answer.status != 200:
                fail(f"forcing the node down answered {answer.status}")

        page.wait_for_function(
            "(selector) => document.querySelector(selector)?.textContent === '0'",
            arg=f'{row} [data-role="weight"]', timeout=10000)
        if page.evaluate("window.__dashboardLoadedAt") != loaded_at:
            fail("the page reloaded; the change must arrive live")
        reason = page.inner_text(row)
        if "forced down" not in reason or "dashboard test" not in reason:
            fail(f"the row does not show the force and its reason: {reason!r}")
        print(f"dashboard check: weight {before} -> 0 appeared without a reload; reason shown")

        if args.screenshots:
            page.screenshot(path=f"{args.screenshots}/dashboard-forced.png", full_page=True)

        # Always, not only with --screenshots: the README promises a dashboard that reads on a phone.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
        phone.goto(f"{args.base}/dashboard")
        phone.wait_for_selector(row, timeout=10000)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            fail(f"the phone layout scrolls sideways ({width}px wide)")
        if args.screenshots:
            phone.screenshot(path=f"{args.screenshots}/dashboard-phone.png", full_page=True)
        print(f"dashboard check: phone layout fits 390px ({width}px wide)")
        browser.close()


if __name__ == "__main__":
    main()
