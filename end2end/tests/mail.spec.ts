import { test, expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { collectConsoleErrors, expectNoAxeViolations, screenshot, signIn, waitForHydration } from "./helpers";

const SMTP_PORT = process.env.E2E_SMTP_PORT ?? "";
const BIN = process.env.E2E_TIEDOKSI_BIN ?? "";
const DATABASE_URL = process.env.E2E_DATABASE_URL ?? "";

/** A mail from the demo organisation's domain, sent with Python's smtplib. */
function sendMail(subject: string) {
  const script = `
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "kirjaamo@tiedoksi.local"
m["To"] = "Maija Meikäläinen <311299-047R@asiointitili.fi>"
m["Subject"] = sys.argv[2]
m.set_content("Päätös tulee paperikirjeenä.")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.send_message(m)
`;
  execFileSync("python3", ["-c", script, SMTP_PORT, subject]);
}

test("a mail in draft mode waits under 'Arrived by e-mail' until a caseworker takes it over", async ({ page }) => {
  test.skip(!SMTP_PORT || !BIN, "run through scripts/e2e.sh");
  const consoleErrors = collectConsoleErrors(page);
  execFileSync(BIN, ["smtp", "settings", "--draft-mode", "true"], {
    env: { ...process.env, TIEDOKSI_DATABASE_URL: DATABASE_URL },
  });
  try {
    sendMail("Päätös sähköpostista");
    await signIn(page);
    await expect(async () => {
      await page.goto("/compose");
      await expect(page.getByTestId("mail-drafts")).toContainText("Päätös sähköpostista", { timeout: 1000 });
    }).toPass({ timeout: 15_000 });
    await waitForHydration(page);
    await expect(page.getByRole("heading", { name: "Sähköpostilla saapuneet" })).toBeVisible();
    await expectNoAxeViolations(page);
    await screenshot(page, "compose-mail-drafts-fi");

    await page.getByRole("button", { name: "Ota käsiteltäväksi" }).first().click();
    await expect(page).toHaveURL(/\/compose\/[0-9a-f-]{36}$/);
    await expect(page.getByLabel("Otsikko")).toHaveValue("Päätös sähköpostista");
    await page.goto("/compose");
    await expect(page.getByTestId("mail-drafts")).toHaveCount(0);
    await expect(page.getByTestId("drafts")).toContainText("Päätös sähköpostista");
    expect(consoleErrors).toEqual([]);
  } finally {
    execFileSync(BIN, ["smtp", "settings", "--draft-mode", "false"], {
      env: { ...process.env, TIEDOKSI_DATABASE_URL: DATABASE_URL },
    });
  }
});
