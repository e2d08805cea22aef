import { test, expect, Page, Browser } from "@playwright/test";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  SIM_URL,
  advanceSimClock,
  collectConsoleErrors,
  expectNoAxeViolations,
  hetu,
  screenshot,
  signIn,
  waitForHydration,
} from "./helpers";

const RUN = Date.now().toString(36);

/** A one-page A4 PDF, as a scanner or a word processor would make one. */
function a4Pdf(label: string, padding = 0): Buffer {
  const content = `BT /F1 12 Tf 72 770 Td (${label}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Contents 4 0 R " +
      "/Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  // A comment of `padding` bytes makes a larger file, as scans are.
  let pdf = "%PDF-1.4\n" + (padding > 0 ? `%${"x".repeat(padding)}\n` : "");
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(pdf.length);
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, "0")} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, "latin1");
}

async function newDraft(page: Page) {
  await page.goto("/compose");
  await page.getByTestId("new-draft").click();
  await expect(page).toHaveURL(/\/compose\/[0-9a-f-]{36}/);
}

async function fillAddress(page: Page, index: number, name: string) {
  const recipient = page.locator(`#recipients-${index}`);
  await recipient.getByLabel("Nimi osoitteessa").fill(name);
  await recipient.getByLabel("Katuosoite").fill("Mannerheimintie 1 A 2");
  await recipient.getByLabel("Postinumero").fill("00100");
  await recipient.getByLabel("Postitoimipaikka").fill("Helsinki");
}

async function uploadAttachment(page: Page, description: string, file: { name: string; mimeType: string; buffer: Buffer }) {
  await page.getByLabel("Liitteen kuvaava nimi").fill(description);
  await page.locator("#file").setInputFiles(file);
  await page.getByRole("button", { name: "Lataa liite" }).click();
}

/** How many notices of this organisation match `q` (through the list's server function). */
async function countNotices(page: Page, q: string): Promise<number> {
  const response = await page.request.post("/api/find_notices", {
    headers: { Origin: new URL(page.url()).origin, Accept: "application/json" },
    data: { filter: { q } },
  });
  expect(response.status()).toBe(200);
  return (await response.json()).rows.length;
}

/** Posts the draft's send form as the check page does; returns where the server sends us. */
async function sendDraft(page: Page): Promise<string> {
  const draft = new URL(page.url()).pathname.split("/")[2];
  const response = await page.request.post(`/compose/${draft}/send`, {
    headers: { Origin: new URL(page.url()).origin },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(303);
  return response.headers()["location"];
}

async function simMessages(page: Page): Promise<any[]> {
  const response = await page.request.get(`${SIM_URL}/__sim/messages`);
  return await response.json();
}

async function setMailbox(page: Page, id: string, active: boolean) {
  const response = await page.request.post(`${SIM_URL}/__sim/mailboxes`, { data: [{ id, active }] });
  expect(response.ok()).toBeTruthy();
}

test("a summons to a 16-year-old that guardians must not read goes on paper, with the reason shown", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  await newDraft(page);
  await waitForHydration(page);
  await page.getByLabel("Laji", { exact: true }).selectOption("summons");
  await page.getByLabel("Diaarinumero", { exact: true }).fill(`KUTSU 16/${RUN}`);
  const recipient = page.locator("#recipients-0");
  await recipient.getByLabel("Nimi", { exact: true }).fill("Nuori Meikäläinen");
  // Born on 1 January sixteen years ago: 16 on any day of the year this test runs.
  const born = new Date().getFullYear() - 16;
  await recipient.getByLabel("Henkilötunnus tai Y-tunnus").fill(hetu(`0101${String(born % 100).padStart(2, "0")}`, born >= 2000 ? "A" : "-", 907));
  await expect(page.locator("#recipients-0-identity_code-live")).toContainText("oikein");
  await fillAddress(page, 0, "Nuori Meikäläinen");
  await recipient.getByLabel("Sisältöä eivät saa lukea muut").check();
  await page.getByLabel("Otsikko", { exact: true }).fill(`Kutsu kuultavaksi ${RUN}`);
  await page.getByLabel("Viesti", { exact: true }).fill("Teidät kutsutaan kuultavaksi 15.12.2026 klo 10.");
  await page.getByLabel("Tavallinen").check();
  await page.getByRole("button", { name: "Jatka tarkistukseen" }).click();

  await expect(page).toHaveURL(/\/check$/);
  await expect(page.getByTestId("decided-mode")).toHaveText("Vain paperikirje");
  await expect(page.getByTestId("reasons")).toContainText(/alaikäinen|eivät saa lukea/);
  // The letter exactly as it will be printed: embedded, and as a link.
  await expect(page.locator("iframe.letter-preview")).toBeVisible();
  const href = await page.getByRole("link", { name: "Avaa kirje (PDF)" }).getAttribute("href");
  const letter = await page.request.get(href!);
  expect(letter.status()).toBe(200);
  expect(letter.headers()["content-type"]).toContain("application/pdf");
  expect((await letter.body()).subarray(0, 5).toString()).toBe("%PDF-");
  await expectNoAxeViolations(page);
  await screenshot(page, "check-paper-fi");

  await page.getByTestId("send").click();
  await expect(page).toHaveURL(/\/notices\/[0-9a-f-]{36}/);
  await expect(page.getByTestId("reasons").first()).toContainText(/alaikäinen|eivät saa lukea/);
  await expect(page.getByTestId("decided-mode").first()).toHaveText("Vain paperikirje");
  // Suomi.fi makes the letter at once and sends it to print an hour later.
  await expect(page.getByTestId("live-status")).toContainText("Paperikirje luotu", { timeout: 20_000 });
  await advanceSimClock(page, 3700);
  await expect(page.getByTestId("live-status")).toContainText("Tulostettavana", { timeout: 20_000 });
  await page.reload();
  await expect(page.getByTestId("timeline").first()).toContainText("Tulostettavana");
  await expect(page.getByTestId("legal-rule").first()).toContainText("hallintolaki 59 §");
  await expectNoAxeViolations(page);
  await screenshot(page, "notice-paper-fi");
  expect(consoleErrors).toEqual([]);
});

test("a completion request with two PDF attachments to a recipient without an identity code", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  await newDraft(page);
  await waitForHydration(page);
  // Files first: an upload reloads the page. The first one goes over a slow line (about
  // 1 MB at 400 kB/s), so its progress bar is seen moving.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 400 * 1024,
  });
  await page.getByLabel("Liitteen kuvaava nimi").fill("Täydennettävät tiedot");
  await page.locator("#file").setInputFiles({ name: "taydennys.pdf", mimeType: "application/pdf", buffer: a4Pdf("Taydennys", 1_000_000) });
  await page.getByRole("button", { name: "Lataa liite" }).click();
  await expect(page.locator("#upload-progress progress")).toBeVisible();
  await expect(page.locator("#upload-progress")).toContainText("Ladataan");
  await expect(page.getByTestId("attachments")).toContainText("Täydennettävät tiedot");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await waitForHydration(page);
  await uploadAttachment(page, "Lomake", { name: "lomake.pdf", mimeType: "application/pdf", buffer: a4Pdf("Lomake") });
  await expect(page.getByTestId("attachments")).toContainText("Lomake");
  await expect(page.getByTestId("attachments").locator("li")).toHaveCount(2);
  await waitForHydration(page);

  await page.getByLabel("Laji", { exact: true }).selectOption("completion_request");
  await page.getByLabel("Diaarinumero", { exact: true }).fill(`TAYD 3/${RUN}`);
  const recipient = page.locator("#recipients-0");
  await recipient.getByLabel("Nimi", { exact: true }).fill("Ulla Ulkomainen");
  await recipient.getByLabel("Vastaanottajalla ei ole tunnusta").check();
  await fillAddress(page, 0, "Ulla Ulkomainen");
  await page.getByLabel("Otsikko", { exact: true }).fill(`Täydennyspyyntö ${RUN}`);
  await page.getByLabel("Viesti", { exact: true }).fill("Täydentäkää hakemusta liitteiden mukaisesti.");
  await page.getByLabel("Tavallinen").check();
  await page.getByRole("button", { name: "Jatka tarkistukseen" }).click();

  await expect(page).toHaveURL(/\/check$/);
  await expect(page.getByTestId("decided-mode")).toHaveText("Paperikirje ilman tunnusta");
  await page.getByTestId("send").click();
  await expect(page).toHaveURL(/\/notices\/[0-9a-f-]{36}/);
  const documents = page.locator(".document-list").first();
  await expect(documents).toContainText("Täydennettävät tiedot.pdf");
  await expect(documents).toContainText("Lomake.pdf");
  await expect(page.getByTestId("live-status")).toContainText("Paperikirje luotu", { timeout: 20_000 });
  expect(consoleErrors).toEqual([]);
});

test("bad input gets clear errors and queues nothing, with and without JavaScript", async ({ page, browser }) => {
  await signIn(page);
  await newDraft(page);
  await waitForHydration(page);
  const reference = `VIRHE 4/${RUN}`;
  // An oversize file and a .pdf that is no PDF: each refused next to the file field.
  await uploadAttachment(page, "Liian iso", { name: "iso.pdf", mimeType: "application/pdf", buffer: Buffer.alloc(10_600_000, 0x25) });
  await expect(page.locator("#file-error")).toContainText("liian suuri");
  await expect(page.locator("#file")).toHaveAttribute("aria-invalid", "true");
  await waitForHydration(page);
  await uploadAttachment(page, "Ei PDF", { name: "ei-pdf.pdf", mimeType: "application/pdf", buffer: Buffer.from("tämä ei ole PDF") });
  await expect(page.locator("#file-error")).toContainText("PDF-tiedostoa ei voi tulostaa");
  await expect(page.locator("#file-error")).not.toContainText("liian suuri");
  await expect(page.getByTestId("attachments")).toHaveCount(0);
  await waitForHydration(page);

  await page.getByLabel("Diaarinumero", { exact: true }).fill(reference);
  const recipient = page.locator("#recipients-0");
  // Markup is not a name: refused with the reason, not escaped and sent on.
  await recipient.getByLabel("Nimi", { exact: true }).fill("Maija <b>Meikäläinen</b>");
  await recipient.getByLabel("Henkilötunnus tai Y-tunnus").fill("131052-308U");
  await expect(page.locator("#recipients-0-identity_code-live")).toContainText("Tarkistusmerkki");
  await page.getByRole("button", { name: "Jatka tarkistukseen" }).click();

  const summary = page.locator("#error-summary");
  await expect(summary).toBeVisible();
  await expect(summary).toBeFocused();
  await expect(page).toHaveTitle(/^Virhe:/);
  await expect(summary.getByRole("link", { name: "Tarkistusmerkki ei täsmää: tarkista henkilötunnus tai Y-tunnus." })).toHaveAttribute("href", "#recipients-0-identity_code");
  // Each problem says which field it is about.
  await expect(summary.getByRole("link", { name: "Otsikko: Täytä tämä kenttä.", exact: true })).toHaveAttribute("href", "#title");
  await expect(summary.getByRole("link", { name: "Vastaanottaja 1: Henkilötunnus tai Y-tunnus: Tarkistusmerkki ei täsmää: tarkista henkilötunnus tai Y-tunnus.", exact: true })).toBeVisible();
  await expect(summary).toContainText("HTML-merkintöjä (kuten script- tai img-elementtejä) ei voi käyttää.");
  await expect(page.locator("#title")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#recipients-0-identity_code")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#recipients-0-identity_code")).toHaveAttribute("aria-describedby", /recipients-0-identity_code-error/);
  await expectNoAxeViolations(page);
  await screenshot(page, "compose-errors-fi");
  // Pressing Send on this draft anyway (a stale check page, a script): refused, nothing queued.
  expect(await sendDraft(page)).toMatch(/#error-summary$/);
  expect(await countNotices(page, reference)).toBe(0);

  // The same without JavaScript: the server is the truth.
  const context = await browser.newContext({ locale: "fi-FI", javaScriptEnabled: false });
  const plain = await context.newPage();
  await plain.goto("/login");
  await plain.getByLabel("Sähköpostiosoite").fill(ADMIN_EMAIL);
  await plain.getByLabel("Salasana").fill(ADMIN_PASSWORD);
  await plain.getByRole("button", { name: "Kirjaudu" }).click();
  await expect(plain.getByRole("heading", { level: 1, name: "Tiedoksiannot" })).toBeVisible();
  await newDraft(plain);
  await plain.getByLabel("Liitteen kuvaava nimi").fill("Ei PDF");
  await plain.locator("#file").setInputFiles({ name: "ei-pdf.pdf", mimeType: "application/pdf", buffer: Buffer.from("tämä ei ole PDF") });
  await plain.getByRole("button", { name: "Lataa liite" }).click();
  await expect(plain.locator("#file-error")).toContainText("PDF-tiedostoa ei voi tulostaa");
  await plain.getByLabel("Diaarinumero").fill(reference);
  await plain.locator("#recipients-0").getByLabel("Nimi", { exact: true }).fill("Maija Meikäläinen");
  await plain.locator("#recipients-0").getByLabel("Henkilötunnus tai Y-tunnus").fill("131052-308U");
  await plain.getByRole("button", { name: "Jatka tarkistukseen" }).click();
  await expect(plain.locator("#error-summary")).toBeVisible();
  await expect(plain).toHaveTitle(/^Virhe:/);
  await expect(plain.locator("#title")).toHaveAttribute("aria-invalid", "true");
  expect(await sendDraft(plain)).toMatch(/#error-summary$/);
  await context.close();
  expect(await countNotices(page, reference)).toBe(0);
});

test("a draft left mid-compose is resumed from My drafts and sent once however often Send is pressed", async ({ page }) => {
  await signIn(page);
  await newDraft(page);
  await waitForHydration(page);
  const title = `Luonnoksesta ${RUN}`;
  await page.getByLabel("Laji", { exact: true }).selectOption("notification");
  await page.getByLabel("Diaarinumero", { exact: true }).fill(`LUONNOS 5/${RUN}`);
  await page.getByLabel("Otsikko", { exact: true }).fill(title);
  await page.getByRole("button", { name: "Tallenna luonnos" }).click();
  await expect(page.getByText("Luonnos tallennettu.")).toBeVisible();

  // Away, and back through My drafts.
  await page.goto("/");
  await page.goto("/compose");
  await page.getByTestId("drafts").getByRole("link", { name: title }).click();
  await expect(page.getByLabel("Otsikko", { exact: true })).toHaveValue(title);
  await expect(page.getByLabel("Diaarinumero", { exact: true })).toHaveValue(`LUONNOS 5/${RUN}`);
  await expect(page.getByLabel("Laji", { exact: true })).toHaveValue("notification");
  await waitForHydration(page);
  const recipient = page.locator("#recipients-0");
  await recipient.getByLabel("Nimi", { exact: true }).fill("Maija Meikäläinen");
  await recipient.getByLabel("Henkilötunnus tai Y-tunnus").fill(hetu("150680", "-", 911));
  await recipient.getByLabel("Toimitus", { exact: true }).selectOption("electronic_only");
  await page.getByLabel("Viesti", { exact: true }).fill("Tiedoksenne.");
  await page.getByLabel("Tavallinen").check();
  await page.getByRole("button", { name: "Jatka tarkistukseen" }).click();
  await expect(page).toHaveURL(/\/check$/);
  await waitForHydration(page);

  // A double click posts once: the button is busy after the first.
  let posts = 0;
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().endsWith("/send")) posts += 1;
  });
  await page.getByTestId("send").dblclick();
  await expect(page).toHaveURL(/\/notices\/[0-9a-f-]{36}/);
  const notice = page.url();
  expect(posts).toBe(1);
  // Back to the check page: the draft says it was sent and links to the notice; sending it
  // again (a second tab, a script) answers with the same notice.
  await page.goBack();
  await expect(page.getByText("Tämä luonnos on jo lähetetty.")).toBeVisible();
  await expect(page.getByRole("link", { name: "Avaa tiedoksianto" })).toHaveAttribute("href", new URL(notice).pathname);
  expect(await sendDraft(page)).toBe(new URL(notice).pathname);
  expect(await countNotices(page, title)).toBe(1);
});

test("needs attention: a mailbox closed before sending, reopened, retried, sent once; then the citizen replies", async ({ page }) => {
  const consoleErrors = collectConsoleErrors(page);
  await signIn(page);
  const code = hetu("150680", "-", 913);
  await newDraft(page);
  await waitForHydration(page);
  const title = `Suljettu postilaatikko ${RUN}`;
  await page.getByLabel("Laji", { exact: true }).selectOption("notification");
  await page.getByLabel("Diaarinumero", { exact: true }).fill(`HUOMIO 7/${RUN}`);
  const recipient = page.locator("#recipients-0");
  await recipient.getByLabel("Nimi", { exact: true }).fill("Kalle Kansalainen");
  await recipient.getByLabel("Henkilötunnus tai Y-tunnus").fill(code);
  await recipient.getByLabel("Toimitus", { exact: true }).selectOption("electronic_only");
  await page.getByLabel("Otsikko", { exact: true }).fill(title);
  await page.getByLabel("Viesti", { exact: true }).fill("Tiedoksenne.");
  await page.getByLabel("Tavallinen").check();
  // The Check mailbox button asks Suomi.fi now.
  await recipient.getByRole("button", { name: "Tarkista postilaatikko" }).click();
  await expect(page.getByTestId("mailbox-answer-0")).toContainText("on käytössä");
  expect(page.url()).not.toContain(code.slice(0, 6));
  await waitForHydration(page);
  await page.getByRole("button", { name: "Jatka tarkistukseen" }).click();
  await expect(page).toHaveURL(/\/check$/);
  await waitForHydration(page);

  // Closed between the check and the sending: Suomi.fi refuses, a person must act.
  await setMailbox(page, code, false);
  await page.getByTestId("send").click();
  await expect(page).toHaveURL(/\/notices\/[0-9a-f-]{36}/);
  const noticeUrl = page.url().split("#")[0];
  await expect(page.getByTestId("live-status")).toContainText("Vaatii toimia", { timeout: 20_000 });

  await page.goto("/attention");
  const item = page.getByTestId("attention-item").filter({ hasText: title });
  await expect(item).toHaveAttribute("data-kind", "no_mailbox");
  await expectNoAxeViolations(page);
  await screenshot(page, "attention-fi");

  // Reopened; retried from the notice page, through its confirmation.
  await setMailbox(page, code, true);
  await item.getByRole("link").last().click();
  await page.getByRole("link", { name: "Lähetä uudelleen" }).click();
  await page.getByRole("button", { name: "Kyllä, lähetä uudelleen" }).click();
  await expect(page.getByTestId("live-status")).toContainText("Toimitettu sähköisesti", { timeout: 20_000 });
  const deliveryId = (await page.getByTestId("delivery").first().locator("h3").getAttribute("id"))!.replace("delivery-", "");
  const sent = (await simMessages(page)).filter((m) => m.external_id === deliveryId);
  expect(sent.length).toBe(1);

  // The citizen writes back; the reply is on the notice and in the inbox.
  const reply = await page.request.post(`${SIM_URL}/__sim/citizen-messages`, {
    data: {
      from_id: code,
      from_name: "Kalle Kansalainen",
      title: `Kysymys ${RUN}`,
      body: "Milloin asia ratkaistaan?",
      in_reply_to: sent[0].message_id,
      attachment: null,
    },
  });
  expect(reply.ok()).toBeTruthy();
  await expect(async () => {
    await page.goto("/inbox");
    await expect(page.getByTestId("reply").filter({ hasText: `Kysymys ${RUN}` })).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByTestId("unread-badge")).toBeVisible();
  await expectNoAxeViolations(page);
  await screenshot(page, "inbox-fi");
  await page.getByTestId("reply").filter({ hasText: `Kysymys ${RUN}` }).getByRole("link").click();
  await expect(page.getByTestId("reply-body")).toHaveText("Milloin asia ratkaistaan?");
  await expect(page.getByTestId("reply-sender")).toContainText("150680-****");
  await expectNoAxeViolations(page);
  await screenshot(page, "reply-fi");
  await page.goto(noticeUrl);
  await expect(page.getByTestId("notice-replies")).toContainText(`Kysymys ${RUN}`);
  await expect(page.getByTestId("timeline").first()).toContainText(`Vastaanottaja vastasi: Kysymys ${RUN}`);
  expect(consoleErrors).toEqual([]);
});
