import { expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

export const ADMIN_EMAIL = "admin@tiedoksi.local";
export const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD ?? "e2e-admin-password";
export const SIM_URL = process.env.SIM_URL ?? "";

/** Fails on any WCAG 2.1 A/AA violation axe finds on the page as it is now. */
export async function expectNoAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .analyze();
  const summary = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(summary, `axe violations on ${page.url()}`).toEqual([]);
}

/** Console errors (failed hydration, 404s for assets, CSP refusals) fail the test. */
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

/** The app marks <html data-hydrated> once its islands have taken over. */
export async function waitForHydration(page: Page) {
  await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
}

export async function signIn(page: Page) {
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByLabel("Sähköpostiosoite").fill(ADMIN_EMAIL);
  await page.getByLabel("Salasana").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();
}

/** A valid personal identity code; in the simulator an odd individual number has an
 * active mailbox and an even one has none. */
export function hetu(date: string, sign: string, individual: number): string {
  const digits = `${date}${String(individual).padStart(3, "0")}`;
  const check = "0123456789ABCDEFHJKLMNPRSTUVWXY"[Number(BigInt(digits) % 31n)];
  return `${date}${sign}${String(individual).padStart(3, "0")}${check}`;
}

/** Saves a screenshot of the page for a person to look at. */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

export async function advanceSimClock(page: Page, seconds: number) {
  const response = await page.request.post(`${SIM_URL}/__sim/clock/advance`, {
    data: { seconds },
  });
  expect(response.ok()).toBeTruthy();
}
