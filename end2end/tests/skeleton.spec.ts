import { test, expect } from "@playwright/test";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  collectConsoleErrors,
  expectNoAxeViolations,
  screenshot,
  waitForHydration,
} from "./helpers";

test("sign in, see the empty notice list, switch language, sign out", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);

  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1, name: "Kirjaudu sisään" })).toBeVisible();
  await expectNoAxeViolations(page);

  // A wrong password shows a clear error, on the same page, in Finnish.
  await page.getByLabel("Sähköpostiosoite").fill(ADMIN_EMAIL);
  await page.getByLabel("Salasana").fill("wrong password");
  await page.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(page.getByRole("alert")).toContainText("Sähköpostiosoite tai salasana on väärin.");
  await expectNoAxeViolations(page);
  // The refused sign-in answers 401, which the browser logs; that one is expected.
  expect(consoleErrors.filter((e) => !e.includes("status of 401"))).toEqual([]);
  consoleErrors.length = 0;

  await page.getByLabel("Salasana").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();
  // Empty on a fresh database; other test files may have sent notices before this one.
  await expect(page.getByTestId("notices-empty").or(page.getByTestId("notices-table"))).toBeVisible();
  await expect(page.getByTestId("signed-in-user")).toContainText("Ylläpitäjä");
  await expectNoAxeViolations(page);

  // Every page of the frame passes axe too.
  await page.getByRole("link", { name: "Uusi tiedoksianto" }).first().click();
  await expect(page.getByRole("heading", { level: 1, name: "Uusi tiedoksianto" })).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByRole("navigation", { name: "Päävalikko" }).getByRole("link", { name: "Ylläpito" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Ylläpito" })).toBeVisible();
  await expect(page.getByRole("cell", { name: ADMIN_EMAIL })).toBeVisible();
  await expectNoAxeViolations(page);

  // Swedish, then English; the choice sticks across pages.
  await page.getByRole("link", { name: "Svenska" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Administration" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "sv");
  await page.getByRole("link", { name: "Delgivningar" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Delgivningar" })).toBeVisible();
  await expect(page.getByTestId("notices-empty").or(page.getByTestId("notices-table"))).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "English" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Notices" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expectNoAxeViolations(page);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);

  expect(consoleErrors).toEqual([]);
});

test("the sign-in page works without wasm", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Sähköpostiosoite").fill(ADMIN_EMAIL);
  await page.getByLabel("Salasana").fill("wrong password");
  await page.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(page.getByRole("alert")).toContainText("Sähköpostiosoite tai salasana on väärin.");
  await page.getByLabel("Sähköpostiosoite").fill(ADMIN_EMAIL);
  await page.getByLabel("Salasana").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();
  await page.getByRole("button", { name: "Kirjaudu ulos" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await context.close();
});

test("a queued notice is listed, accessibly, in every language", async ({ page, baseURL }) => {
  const consoleErrors = collectConsoleErrors(page);
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByLabel("Sähköpostiosoite").fill(ADMIN_EMAIL);
  await page.getByLabel("Salasana").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();

  // Queued through the compose server function, as the wizard will call it.
  const response = await page.request.post("/api/send_notice", {
    headers: { Origin: baseURL!, Accept: "application/json" },
    data: {
      draft: {
        idempotency_key: "e2e-1",
        notice_type: "decision",
        case_reference: "DNRO 42/2026",
        title: "Päätös pysäköintiluvasta",
        body: "Hakemuksenne on hyväksytty.",
        language: "fi",
        verifiable: false,
        appeal_instructions: "Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.",
        decision: {
          decision_date: "2026-11-27",
          decision_maker: "Pysäköintipäällikkö",
          contact_person: "Liisa Käsittelijä, puh. 09 123 4567",
        },
        recipients: [
          {
            role: "party",
            name: "Maija Meikäläinen",
            identity_code: "150680-9039",
            address: {
              name: "Maija Meikäläinen",
              street_address: "Mannerheimintie 1",
              zip_code: "00100",
              city: "Helsinki",
              country_code: "FI",
            },
            mode: "multichannel",
          },
        ],
      },
    },
  });
  expect(response.status(), await response.text()).toBe(200);

  await page.reload();
  await waitForHydration(page);
  const table = page.getByTestId("notices-table");
  const row = table.getByTestId("notice-row").filter({ hasText: "DNRO 42/2026" });
  await expect(row.getByRole("link", { name: "Päätös pysäköintiluvasta" })).toBeVisible();
  await expect(row).toContainText("Maija Meikäläinen");
  await expect(row).toContainText("150680-****");
  await expect(row).not.toContainText("150680-9039");
  await expect(table.getByRole("columnheader", { name: "Vastaanottajat" })).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "Svenska" }).click();
  await expect(page.getByTestId("notices-table").getByRole("columnheader", { name: "Mottagare" })).toBeVisible();
  await expectNoAxeViolations(page);
  await screenshot(page, "list-sv");
  await page.getByRole("link", { name: "English" }).click();
  await expect(page.getByTestId("notices-table").getByRole("columnheader", { name: "Recipients" })).toBeVisible();
  await expectNoAxeViolations(page);
  await screenshot(page, "list-en");
  expect(consoleErrors).toEqual([]);
});
