import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { SIM_URL, collectConsoleErrors, expectNoAxeViolations, screenshot, signIn, waitForHydration } from "./helpers";

const RUN = Date.now().toString(36);

test("an admin adds a caseworker, who signs in and is signed out mid-session when deactivated", async ({ page, browser }) => {
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  await page.goto("/admin");
  await waitForHydration(page);
  const email = `kasittelija-${RUN}@kunta.example`;
  await page.locator("#new-name").fill("Kaisa Käsittelijä");
  await page.locator("#new-email").fill(email);
  await page.getByRole("button", { name: "Lisää käyttäjä" }).click();
  const link = (await page.getByTestId("shown-link").locator("code").textContent()) ?? "";
  expect(link).toContain("/welcome/");

  // The caseworker sets a password through the link and signs in, in a browser of their own.
  const theirs = await browser.newContext();
  const caseworker = await theirs.newPage();
  await caseworker.goto(link);
  await caseworker.getByLabel("Uusi salasana", { exact: true }).fill("kaksitoista merkkiä vähintään");
  await caseworker.getByLabel("Uusi salasana uudelleen").fill("kaksitoista merkkiä vähintään");
  await caseworker.getByRole("button", { name: "Aseta salasana" }).click();
  await caseworker.getByLabel("Sähköpostiosoite").fill(email);
  await caseworker.getByLabel("Salasana").fill("kaksitoista merkkiä vähintään");
  await caseworker.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(caseworker.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();

  // Templates are the admins' to add and edit (caseworkers compose from them): refused, as
  // rendered by the server (no script needed) and in the other languages.
  const refused = await caseworker.request.get("/admin/templates");
  expect(refused.status()).toBe(403);
  expect(await refused.text()).not.toContain("template-form-heading");
  await caseworker.goto("/admin/templates");
  await expect(caseworker.getByRole("heading", { level: 1, name: "Ei käyttöoikeutta" })).toBeVisible();
  await expectNoAxeViolations(caseworker);
  await screenshot(caseworker, "templates-refused-fi");
  await caseworker.goto("/language/sv");
  await caseworker.goto("/admin/templates");
  await expect(caseworker.locator("html")).toHaveAttribute("lang", "sv");
  await screenshot(caseworker, "templates-refused-sv");
  await caseworker.goto("/language/fi");
  // Another organisation's service (or none): not found, not an empty page.
  const missing = await page.request.get(`/admin/services/00000000-0000-7000-8000-000000000000`);
  expect(missing.status()).toBe(404);
  // (In a tab of its own: the browser logs the 404 itself, which is no error of the page.)
  const notFound = await page.context().newPage();
  await notFound.goto("/admin/services/00000000-0000-7000-8000-000000000000");
  await expect(notFound.getByRole("alert")).toBeVisible();
  await expectNoAxeViolations(notFound);
  await screenshot(notFound, "service-not-found-fi");
  await notFound.close();

  // Deactivated while signed in: their next click signs them out.
  await page.getByTestId("user-row").filter({ hasText: email }).getByRole("button", { name: "Poista käytöstä" }).click();
  await expect(page.getByTestId("user-row").filter({ hasText: email })).toContainText("Poistettu käytöstä");
  await caseworker.goto("/compose");
  await expect(caseworker).toHaveURL(/\/login/);
  await theirs.close();
  expect(consoleErrors).toEqual([]);
});

test("an admin adds a Suomi.fi service, tests its connection and changes its password", async ({ page }) => {
  test.skip(!SIM_URL, "run through scripts/e2e.sh");
  const consoleErrors = collectConsoleErrors(page);
  // The system account DVV would have given the organisation for this service.
  const username = `sote-${RUN}`;
  const serviceId = `sote-service-${RUN}`;
  const added = await page.request.post(`${SIM_URL}/__sim/accounts`, {
    data: { username, password: "alkuperäinen-salasana", serviceIds: [serviceId] },
  });
  expect(added.ok()).toBeTruthy();

  await signIn(page);
  await page.goto("/admin");
  await page.getByTestId("services-link").click();
  await expect(page.getByRole("heading", { level: 1, name: "Suomi.fi-palvelut" })).toBeVisible();
  await waitForHydration(page);
  await page.locator("#service-name").fill(`Sosiaalipalvelut ${RUN}`);
  await page.locator("#service-id").fill(serviceId);
  await page.locator("#service-username").fill(username);
  await page.locator("#service-password").fill("alkuperäinen-salasana");
  await page.getByRole("button", { name: "Lisää palvelu" }).click();

  const card = page.getByTestId("service").filter({ hasText: serviceId });
  await expect(card).toContainText("Ei testattu");
  await expect(page.locator("body")).not.toContainText("alkuperäinen-salasana");
  await card.getByRole("button", { name: "Testaa yhteys" }).click();
  await expect(card.getByTestId("service-check")).toContainText("Toimii");

  await card.getByRole("button", { name: "Vaihda salasana nyt" }).click();
  await expect(card.getByTestId("service-check")).toContainText("Toimii");
  const accounts = await (await page.request.get(`${SIM_URL}/__sim/accounts`)).json();
  expect(accounts[username].password).not.toBe("alkuperäinen-salasana");
  expect(accounts[username].password.length).toBeGreaterThanOrEqual(32);
  // The new password works: another test passes.
  await card.getByRole("button", { name: "Testaa yhteys" }).click();
  await expect(card.getByTestId("service-check")).toContainText("Toimii");
  await expectNoAxeViolations(page);
  await screenshot(page, "admin-services");
  expect(consoleErrors).toEqual([]);
});

test("the audit log is filtered and the filtered view downloaded as CSV", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  await page.goto("/audit");
  await waitForHydration(page);
  await page.getByLabel("Tapahtuma").fill("login.succeeded");
  await page.getByRole("button", { name: "Rajaa" }).click();
  await expect(page).toHaveURL(/action=login.succeeded/);
  const rows = page.locator(".audit-table tbody tr");
  await expect(rows.first()).toContainText("login.succeeded");
  const shown = await rows.allTextContents();
  expect(shown.every((row) => row.includes("login.succeeded"))).toBeTruthy();

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Lataa rajatut lokitiedot (CSV)" }).click(),
  ]);
  const csv = readFileSync((await download.path()) ?? "", "utf8");
  const lines = csv.trim().split(/\r?\n/);
  expect(lines.length).toBeGreaterThan(1);
  expect(lines.slice(1).every((line) => line.includes("login.succeeded"))).toBeTruthy();
  expect(consoleErrors).toEqual([]);
});

test("an admin edits a template, and a notice composed from it is filled in and names its version", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  await page.goto("/admin");
  await page.getByTestId("templates-link").click();
  await expect(page.getByRole("heading", { level: 1, name: "Viestipohjat" })).toBeVisible();
  await waitForHydration(page);
  const name = `Toimeentulotuki ${RUN}`;
  await page.locator("#template-name").fill(name);
  await page.locator("#template-title").fill("Päätös {{asianumero}}");
  await page.locator("#template-body").fill("Hei {{vastaanottaja}}, hakemuksenne on käsitelty.");
  await page.locator("#template-decision-maker").fill("Sosiaalijohtaja");
  await page.locator("#template-appeal-days").fill("30");
  await page.getByRole("button", { name: "Lisää pohja" }).click();
  await expect(page.getByTestId("template-version")).toContainText("1");

  // A change is a new version.
  await page.locator("#template-body").fill("Hei {{vastaanottaja}}, hakemuksenne {{asianumero}} on hyväksytty.");
  await page.getByRole("button", { name: "Tallenna uutena versiona" }).click();
  await expect(page.getByTestId("template-version")).toContainText("2");
  await expectNoAxeViolations(page);
  await screenshot(page, "admin-template");

  // Compose from it: the draft starts filled in.
  await page.goto("/compose");
  await waitForHydration(page);
  await page.getByLabel("Viestipohja").selectOption({ label: `${name} (suomi)` });
  await page.getByTestId("new-from-template").click();
  await expect(page.locator("#title")).toHaveValue("Päätös {{asianumero}}");
  await expect(page.locator("#body")).toHaveValue(/hakemuksenne \{\{asianumero\}\} on hyväksytty/);
  expect(consoleErrors).toEqual([]);
});

test("a caseworker signs in through the organisation's OpenID provider", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);
  await page.goto("/login");
  await waitForHydration(page);
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "Kirjaudu: Kunnan tunnukset" }).click();
  // The provider answers at once and sends the browser back: signed in, with the session
  // cookie (SameSite=Strict) in use after a navigation that began on the provider's site.
  await expect(page.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();
  await expect(page.locator("body")).toContainText("Alice Käsittelijä");
  await page.goto("/compose");
  await expect(page).toHaveURL(/\/compose$/);
  expect(consoleErrors).toEqual([]);
});
