import { test, expect, Page } from "@playwright/test";
import { SIM_URL, collectConsoleErrors, expectNoAxeViolations, hetu, screenshot, signIn } from "./helpers";

const RUN = Date.now().toString(36);

/** Every page a caseworker sees, with content: a notice, a reply, a draft ready to check. */
async function material(page: Page): Promise<Record<string, string>> {
  const origin = new URL(page.url()).origin;
  const code = hetu("150680", "-", 915);
  const queued = await page.request.post("/api/send_notice", {
    headers: { Origin: origin, Accept: "application/json" },
    data: {
      draft: {
        idempotency_key: `pages-${RUN}`,
        notice_type: "decision",
        case_reference: `SIVUT 8/${RUN}`,
        title: `Päätös sivuja varten ${RUN}`,
        body: "Hakemuksenne on hyväksytty.",
        language: "fi",
        verifiable: false,
        appeal_instructions: "Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.",
        decision: { decision_date: "2026-11-27", decision_maker: "Päällikkö", contact_person: "Liisa, puh. 09 123 4567" },
        recipients: [{ role: "party", name: "Maija Meikäläinen", identity_code: code, mode: "electronic_only" }],
      },
    },
  });
  expect(queued.status(), await queued.text()).toBe(200);
  const notice = await queued.json();
  const deliveryId = notice.deliveries[0].delivery_id;
  let messageId = 0;
  await expect(async () => {
    const messages = await (await page.request.get(`${SIM_URL}/__sim/messages`)).json();
    messageId = messages.find((m: any) => m.external_id === deliveryId)?.message_id ?? 0;
    expect(messageId).toBeGreaterThan(0);
  }).toPass({ timeout: 15_000 });
  await page.request.post(`${SIM_URL}/__sim/citizen-messages`, {
    data: { from_id: code, from_name: "Maija Meikäläinen", title: `Kiitos ${RUN}`, body: "Kiitos tiedosta.", in_reply_to: messageId, attachment: null },
  });
  let replyId = "";
  await expect(async () => {
    const inbox = await (await page.request.post("/api/list_replies", { headers: { Origin: origin, Accept: "application/json" } })).json();
    replyId = inbox.replies.find((r: any) => r.title === `Kiitos ${RUN}`)?.id ?? "";
    expect(replyId).not.toBe("");
  }).toPass({ timeout: 15_000 });

  const created = await page.request.post("/compose/new", { headers: { Origin: origin }, maxRedirects: 0 });
  const draft = created.headers()["location"].replace("/compose/", "");
  const saved = await page.request.post(`/compose/${draft}/save`, {
    headers: { Origin: origin },
    maxRedirects: 0,
    form: {
      notice_type: "notification",
      case_reference: `SIVUT 9/${RUN}`,
      title: "Ilmoitus",
      body: "Tiedoksi.",
      verifiable: "no",
      "recipients[0].name": "Maija Meikäläinen",
      "recipients[0].identity_code": hetu("150680", "-", 917),
      "recipients[0].mode": "electronic_only",
      action: "continue",
    },
  });
  expect(saved.headers()["location"]).toBe(`/compose/${draft}/check`);

  const template = await page.request.post("/admin/templates", {
    headers: { Origin: origin },
    maxRedirects: 0,
    form: {
      name: `Kutsu ${RUN}`, notice_type: "summons", language: "fi",
      title: "Kutsu {{asianumero}}", body: "Hei {{vastaanottaja}}, tervetuloa.", appeal_days: "",
    },
  });
  const templatePage = template.headers()["location"];
  expect(templatePage).toMatch(/^\/admin\/templates\/[0-9a-f-]+$/);
  const batch = await page.request.post("/batches", {
    headers: { Origin: origin },
    maxRedirects: 0,
    multipart: {
      template: templatePage.replace("/admin/templates/", ""),
      case_reference: `SIVUT 10/${RUN}`,
      mode: "multichannel",
      file: {
        name: "vastaanottajat.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(
          "tunnus;nimi;katuosoite;postinumero;postitoimipaikka\n" +
            `${hetu("150680", "-", 918)};Maija Meikäläinen;Katu 1;00100;Helsinki\n` +
            "150680-0000;Virheellinen Rivi;Katu 2;00100;Helsinki\n",
        ),
      },
    },
  });
  const batchPage = batch.headers()["location"];
  expect(batchPage).toMatch(/^\/batches\/[0-9a-f-]+$/);
  const services = await (await page.request.post("/api/suomifi_services", {
    headers: { Origin: origin, Accept: "application/json" },
  })).json();
  return {
    notices: "/",
    attention: "/attention",
    inbox: "/inbox",
    reply: `/inbox/${replyId}`,
    notice: `/notices/${notice.notice_id}`,
    compose: "/compose",
    draft: `/compose/${draft}`,
    check: `/compose/${draft}/check`,
    statuses: "/statuses",
    accessibility: "/accessibility",
    admin: "/admin",
    services: "/admin/services",
    service: `/admin/services/${services[0].id}`,
    templates: "/admin/templates",
    template: templatePage,
    batches: "/batches",
    batch: batchPage,
    audit: "/audit",
    welcome: "/welcome/not-a-live-link",
  };
}

test("every page passes axe in Finnish, Swedish and English, and is photographed", async ({ page, context, browser, baseURL }) => {
  // Every page, three languages, axe and a photograph each: 2.3 min on a slow day's machine,
  // so the budget is twice that rather than a few seconds above it.
  test.setTimeout(300_000);
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  const pages = await material(page);
  for (const language of ["fi", "sv", "en"]) {
    await context.addCookies([{ name: "i18n_pref_locale", value: language, url: baseURL! }]);
    for (const [name, path] of Object.entries(pages)) {
      const response = await page.goto(path);
      expect(response?.status(), `${path} in ${language}`).toBe(200);
      await expect(page.locator("html")).toHaveAttribute("lang", language);
      await expectNoAxeViolations(page);
      await screenshot(page, `${name}-${language}`);
    }
  }
  // 200 % zoom of a 1280 px window: nothing needs scrolling sideways (WCAG 1.4.10).
  await context.addCookies([{ name: "i18n_pref_locale", value: "fi", url: baseURL! }]);
  await page.setViewportSize({ width: 640, height: 800 });
  for (const [name, path] of Object.entries(pages)) {
    await page.goto(path);
    await expect(page, `${name} at 200 %`).toHaveURL(new RegExp(`${path.replace(/[/?]/g, "\\$&")}$`));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} scrolls sideways at 200 %`).toBeLessThanOrEqual(0);
  }
  await page.goto(pages.notice);
  await screenshot(page, "notice-zoom-fi");
  expect(consoleErrors).toEqual([]);

  // Without JavaScript every page is whole: the same session, no scripts at all.
  const plain = await browser.newContext({ locale: "fi-FI", javaScriptEnabled: false });
  await plain.addCookies(await context.cookies());
  const noScript = await plain.newPage();
  for (const [name, path] of Object.entries(pages)) {
    const response = await noScript.goto(path);
    expect(response?.status(), `${path} without JavaScript`).toBe(200);
    await expect(noScript, `${name} without JavaScript`).toHaveURL(new RegExp(`${path.replace(/[/?]/g, "\\$&")}$`));
    await expect(noScript.getByRole("heading", { level: 1 })).toBeVisible();
    await screenshot(noScript, `${name}-nojs-fi`);
  }
  await plain.close();
});

test("keyboard only: the skip link comes first and shows, focus is always visible", async ({ page }) => {
  await signIn(page);
  await page.goto("/");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Siirry sisältöön" });
  await expect(skip).toBeFocused();
  const box = await skip.boundingBox();
  expect(box && box.y >= 0 && box.width > 0, "the skip link is on screen when focused").toBeTruthy();
  await page.keyboard.press("Enter");
  await expect(page.locator("#main")).toBeFocused();
  // Every control met by Tab has a visible focus indicator.
  let checked = 0;
  for (let step = 0; step < 12; step++) {
    await page.keyboard.press("Tab");
    const style = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (!element || element === document.body) return null;
      const css = getComputedStyle(element);
      return { tag: `${element.tagName} ${element.getAttribute("type") ?? ""} ${element.id}`, shadow: css.boxShadow };
    });
    if (!style) continue;
    // The ring is a box shadow; the transparent outline is for high-contrast mode.
    expect(style.shadow, `focus visible on ${style.tag}`).not.toBe("none");
    checked += 1;
  }
  expect(checked, "controls reached by Tab").toBeGreaterThanOrEqual(10);
});
