import { test, expect, Page } from "@playwright/test";
import {
  advanceSimClock,
  collectConsoleErrors,
  expectNoAxeViolations,
  hetu,
  screenshot,
  signIn,
  waitForHydration,
} from "./helpers";

/** Starts a new draft and lands on its form. */
async function newDraft(page: Page) {
  await page.goto("/compose");
  await waitForHydration(page);
  await page.getByTestId("new-draft").click();
  await expect(page).toHaveURL(/\/compose\/[0-9a-f-]{36}$/);
  await waitForHydration(page);
}

async function fillDecision(page: Page, title: string) {
  await page.getByLabel("Diaarinumero").fill("DNRO 77/2026");
  await page.getByLabel("Otsikko").fill(title);
  await page.getByLabel("Viesti", { exact: true }).fill("Hakemuksenne on hyväksytty.\n\nPerustelut ovat alla.");
  await page.getByLabel("Päätöksen päivämäärä").fill("2026-11-27");
  await page.getByLabel("Päätöksen tekijä").fill("Sosiaalijohtaja Maija Virtanen");
  await page.getByLabel("Yhteyshenkilö").fill("Liisa Käsittelijä");
  await page.getByLabel("Muutoksenhakuohjeet").fill("Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.");
}

test("a decision to an adult with a mailbox is delivered, then read, and the timeline tells it", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  await newDraft(page);
  await expectNoAxeViolations(page);
  await screenshot(page, "compose-empty-fi");

  await fillDecision(page, "Päätös toimeentulotuesta");
  await page.getByLabel("Nimi", { exact: true }).fill("Maija Meikäläinen");
  await page.getByLabel("Henkilötunnus tai Y-tunnus").fill(hetu("150680", "-", 903));
  await expect(page.locator("#recipients-0-identity_code-live")).toContainText("oikein");
  await page.getByLabel("Toimitus", { exact: true }).selectOption("electronic_only");
  await page.getByLabel("Tavallinen").check();
  await page.getByRole("button", { name: "Jatka tarkistukseen" }).click();

  await expect(page).toHaveURL(/\/check$/);
  await expect(page.getByRole("heading", { level: 1, name: "Tarkista ja lähetä" })).toBeVisible();
  await expect(page.getByTestId("decided-mode")).toHaveText("Vain sähköinen");
  // Left empty, the appeal period is the type's default, and the page says so.
  await expect(page.getByText("30 (lajin oletus)")).toBeVisible();
  await expectNoAxeViolations(page);
  await screenshot(page, "check-fi");

  await page.getByTestId("send").click();
  await expect(page).toHaveURL(/\/notices\/[0-9a-f-]{36}/);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1, name: "Päätös toimeentulotuesta" })).toBeVisible();
  // The status area follows the delivery by itself.
  await expect(page.getByTestId("live-status")).toContainText("Toimitettu sähköisesti", { timeout: 20_000 });
  await expectNoAxeViolations(page);

  await advanceSimClock(page, 3700);
  await expect(page.getByTestId("live-status")).toContainText("Luettu", { timeout: 20_000 });
  await page.reload();
  const timeline = page.getByTestId("timeline");
  await expect(timeline).toContainText("Luettu");
  await expect(timeline).toContainText("Toimitettu sähköisesti");
  await expect(timeline).toContainText("Suomi.fi vastaanotti viestin");
  await expect(timeline).toContainText(/klo \d{2}\.\d{2}/);
  await expect(page.getByTestId("deemed-receipt")).not.toHaveText("–");
  await expectNoAxeViolations(page);
  await screenshot(page, "notice-fi");
  expect(consoleErrors).toEqual([]);
});
