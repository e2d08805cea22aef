import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { collectConsoleErrors, expectNoAxeViolations, hetu, screenshot, signIn, waitForHydration } from "./helpers";

const RUN = Date.now().toString(36);

/** 200 recipients as Excel saves them in Finland (semicolons, a byte order mark); the rows
 *  at these spreadsheet numbers are broken, each in its own way. */
const BAD_ROWS = [12, 50, 99, 150, 201];

function recipientsFile(): string {
  const lines = ["tunnus;nimi;katuosoite;postinumero;postitoimipaikka;asianumero"];
  for (let n = 0; n < 200; n++) {
    const row = n + 2;
    let code = hetu("010190", "-", 300 + n);
    let name = `Vastaanottaja ${n}`;
    let zip = "00100";
    if (row === BAD_ROWS[0]) code = "010190-0000";
    if (row === BAD_ROWS[1]) name = "";
    if (row === BAD_ROWS[2]) zip = "";
    if (row === BAD_ROWS[3]) code = hetu("010190", "-", 300); // the first row's again
    if (row === BAD_ROWS[4]) code = "1234567-8";
    lines.push(`${code};${name};Esimerkkikatu ${n};${zip};Helsinki;KUTSU ${n}/${RUN}`);
  }
  return "\ufeff" + lines.join("\r\n") + "\r\n";
}

test("a 200-row file with 5 bad rows: the report names them, 195 go, the results say so", async ({ page }) => {
  test.setTimeout(240_000);
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  const origin = new URL(page.url()).origin;
  const template = await page.request.post("/admin/templates", {
    headers: { Origin: origin },
    maxRedirects: 0,
    form: {
      name: `Joukkokutsu ${RUN}`, notice_type: "summons", language: "fi",
      title: "Kutsu {{asianumero}}", body: "Hei {{vastaanottaja}}, tervetuloa.", appeal_days: "",
    },
  });
  expect(template.status()).toBe(303);

  await page.goto("/batches");
  await waitForHydration(page);
  await page.getByLabel("Pohja").selectOption({ label: `Joukkokutsu ${RUN}` });
  await page.getByLabel("Asianumero").fill(`KUTSU 0/${RUN}`);
  await page.getByLabel("Vastaanottajat (CSV tai XLSX)").setInputFiles({
    name: "vastaanottajat.csv", mimeType: "text/csv", buffer: Buffer.from(recipientsFile(), "utf-8"),
  });
  await page.getByTestId("batch-check").click();

  await expect(page.getByTestId("batch-counts")).toHaveText("200 riviä: 195 kunnossa, 5 virheellistä");
  await expect(page.getByTestId("batch-row-number")).toHaveText(BAD_ROWS.map(String));
  await expect(page.getByTestId("batch-rows")).toContainText("Sama vastaanottaja on jo rivillä 2.");
  await expect(page.getByTestId("public-notice-hint")).toContainText("hallintolaki 55 §");
  await expectNoAxeViolations(page);
  await screenshot(page, "batch-report-fi");

  await page.getByRole("button", { name: "Lähetä 195 tiedoksiantoa" }).click();
  await waitForHydration(page);
  // The island keeps the numbers up to date without a reload.
  await expect(page.getByTestId("batch-progress-text")).toContainText("195 / 195 jonossa (100 %)", { timeout: 180_000 });
  // Then every delivery leaves for Suomi.fi: the counts by status say so after a reload (and
  // the next tests do not wait behind 195 sends).
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("filter-delivery:queued")).toHaveCount(0);
  }).toPass({ timeout: 120_000, intervals: [2_000] });
  await expectNoAxeViolations(page);
  await screenshot(page, "batch-progress-fi");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("batch-results").click(),
  ]);
  const results = readFileSync(await download.path(), "utf-8").replace(/^\ufeff/, "").trim().split(/\r?\n/);
  expect(results.length).toBe(201);
  expect(results[0]).toBe("rivi;nimi;tunnus;tila;toimitus;tiedoksianto;ongelmat");
  const byRow = new Map(results.slice(1).map((line) => [Number(line.split(";")[0]), line]));
  for (const row of BAD_ROWS) expect(byRow.get(row), `row ${row}`).toContain("Virheellinen");
  const queued = results.slice(1).filter((line) => line.split(";")[3] === "Jonossa");
  expect(queued.length).toBe(195);
  expect(results.join("\n")).not.toMatch(/010190-3\d\d/);
  expect(consoleErrors).toEqual([]);
});
