/**
 * The HTML shell of our pages: one stylesheet, one script from the page's own origin and an element
 * the script draws into, under a content security policy that allows nothing inline. The VS Code
 * webviews and the browser dashboard of `planctl serve` use it, so both hosts serve the same page.
 */
export interface PageShell {
  /** The Content-Security-Policy, as a meta tag (a webview has no response headers to carry it). */
  csp?: string;
  styleHref: string;
  scriptSrc: string;
  /** The script tag's nonce, when the policy allows scripts by nonce. */
  nonce?: string;
  title: string;
  iconHref?: string;
  /** Extra attributes of the `<main id="app">` element the script renders into. */
  mainAttributes?: string;
}

const escapeAttribute = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function pageShell(page: PageShell): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
${page.csp ? `<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(page.csp)}">\n` : ''}<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(page.styleHref)}">
${page.iconHref ? `<link rel="icon" href="${escapeAttribute(page.iconHref)}">\n` : ''}<title>${escapeAttribute(page.title)}</title>
</head>
<body>
<main id="app"${page.mainAttributes ? ` ${page.mainAttributes}` : ''}></main>
<script${page.nonce ? ` nonce="${escapeAttribute(page.nonce)}"` : ''} src="${escapeAttribute(page.scriptSrc)}"></script>
</body>
</html>`;
}
