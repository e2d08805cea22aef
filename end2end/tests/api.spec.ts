import { test, expect } from "@playwright/test";
import { expectNoAxeViolations, screenshot } from "./helpers";

test("the integration API's reference is a page people read, without scripts too, and passes axe", async ({ page, browser }) => {
  const response = await page.goto("/api/v1/reference");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Tiedoksi integration API");
  for (const operation of ["POST /api/v1/notices", "GET /api/v1/events", "POST /api/v1/batches"]) {
    await expect(page.getByRole("heading", { level: 3, name: new RegExp(operation) })).toBeVisible();
  }
  await expect(page.getByRole("link", { name: "/api/v1/openapi.json" })).toBeVisible();
  await expectNoAxeViolations(page);
  await screenshot(page, "api-reference");

  const plain = await browser.newContext({ javaScriptEnabled: false });
  const noScript = await plain.newPage();
  await noScript.goto("/api/v1/reference");
  await expect(noScript.getByRole("heading", { level: 3, name: /POST \/api\/v1\/documents/ })).toBeVisible();
  await plain.close();
});
