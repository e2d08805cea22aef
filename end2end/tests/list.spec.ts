import { test, expect, Page } from "@playwright/test";
import {
  collectConsoleErrors,
  expectNoAxeViolations,
  hetu,
  screenshot,
  signIn,
  waitForHydration,
} from "./helpers";

const RUN = Date.now().toString(36);
const PERSON = hetu("010170", "-", 555);

/** Queues a notice through the same server function the pages use. */
async function sendNotice(page: Page, n: number) {
  const paper = n % 6 === 5;
  const person = n % 10 === 3;
  const name = person ? "Pertti Haettava" : `Vastaanottaja ${n}`;
  const draft = {
    idempotency_key: `list-${RUN}-${n}`,
    notice_type: n % 4 === 0 ? "summons" : "notification",
    case_reference: `LISTA ${n}/${RUN}`,
    title: `Listatesti ${RUN} numero ${n}`,
    body: "Tiedoksi.",
    language: "fi",
    verifiable: false,
    recipients: [
      {
        role: "party",
        name,
        identity_code: person ? PERSON : hetu("150680", "-", 101 + 2 * n),
        address: {
          name,
          street_address: "Mannerheimintie 1 A 2",
          zip_code: "00100",
          city: "Helsinki",
          country_code: "FI",
        },
        mode: paper ? "paper_only" : "electronic_only",
      },
    ],
  };
  const response = await page.request.post("/api/send_notice", {
    headers: { Origin: new URL(page.url()).origin, Accept: "application/json" },
    data: { draft },
  });
  expect(response.status(), await response.text()).toBe(200);
}

async function rowTitles(page: Page): Promise<string[]> {
  return page.getByTestId("notice-row").locator(".notice-table__title").allTextContents();
}

test("sixty notices: search by a whole identity code, filter by status, page forward and back; the URL keeps the view", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  for (let n = 0; n < 60; n++) await sendNotice(page, n);

  // Text search, through the form as a person would.
  await page.goto("/");
  await page.getByLabel("Hae tiedoksiantoja").fill(`Listatesti ${RUN}`);
  await page.getByRole("button", { name: "Hae", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`q=Listatesti%20${RUN}`));
  await expect(page.getByTestId("notice-row")).toHaveCount(25);
  const first = await rowTitles(page);
  expect(first[0]).toBe(`Listatesti ${RUN} numero 59`);
  await expectNoAxeViolations(page);
  await screenshot(page, "list-fi");

  await page.getByTestId("next-page").click();
  const second = await rowTitles(page);
  expect(second[0]).toBe(`Listatesti ${RUN} numero 34`);
  await page.getByTestId("next-page").click();
  await expect(page.getByTestId("notice-row")).toHaveCount(10);
  await expect(page.getByTestId("next-page")).toHaveCount(0);
  await page.getByTestId("previous-page").click();
  expect(await rowTitles(page)).toEqual(second);
  await page.getByTestId("previous-page").click();
  expect(await rowTitles(page)).toEqual(first);
  await expect(page.getByTestId("previous-page")).toHaveCount(0);

  // A whole identity code: found through its lookup hash, never in the URL or the page.
  await page.goto("/");
  await page.getByLabel("Hae tiedoksiantoja").fill(PERSON);
  await page.getByRole("button", { name: "Hae", exact: true }).click();
  await expect(page.getByTestId("searching-identity")).toContainText("010170-****");
  expect(page.url()).not.toContain(PERSON);
  expect(page.url()).not.toContain("010170");
  expect(await page.content()).not.toContain(PERSON);
  await expect(page.getByTestId("notice-row")).toHaveCount(6);
  for (const title of await rowTitles(page)) expect(title).toMatch(/numero \d*3$/);
  await expectNoAxeViolations(page);

  // Filter by a recipient's status: the paper letters, once Suomi.fi has made them.
  await page.goto(`/?q=${encodeURIComponent(`Listatesti ${RUN}`)}`);
  await page.getByLabel("Vastaanottajan tila").selectOption("paper_created");
  await page.getByRole("button", { name: "Näytä" }).click();
  await expect(page).toHaveURL(/status=paper_created/);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("notice-row")).toHaveCount(10, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  for (const title of await rowTitles(page)) expect(title).toMatch(/numero (5|11|17|23|29|35|41|47|53|59)$/);

  // The same URL in another browser session shows the same view.
  const filtered = await rowTitles(page);
  const url = page.url();
  const other = await browser.newContext({ locale: "fi-FI" });
  const again = await other.newPage();
  await signIn(again);
  await again.goto(url);
  expect(await rowTitles(again)).toEqual(filtered);
  await expect(again.getByLabel("Vastaanottajan tila")).toHaveValue("paper_created");
  await other.close();

  // Works without wasm: the search is a form post and a redirect.
  await waitForHydration(page);
  expect(consoleErrors).toEqual([]);
});

test("the search form works without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ locale: "fi-FI", javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Sähköpostiosoite").fill("admin@tiedoksi.local");
  await page.getByLabel("Salasana").fill(process.env.E2E_ADMIN_PASSWORD ?? "e2e-admin-password");
  await page.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();
  await page.getByLabel("Hae tiedoksiantoja").fill(PERSON);
  await page.getByRole("button", { name: "Hae", exact: true }).click();
  await expect(page.getByTestId("searching-identity")).toContainText("010170-****");
  expect(page.url()).not.toContain("010170");
  // A date that does not exist: the error summary links to the field, which says it is wrong.
  await page.goto("/?from=2026-02-30");
  await expect(page.locator("#error-summary").getByRole("link")).toHaveAttribute("href", "#from");
  await expect(page.locator("#from")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#from")).toHaveAttribute("aria-describedby", "from-error");
  await context.close();
});
