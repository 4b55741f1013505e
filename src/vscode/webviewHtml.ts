/** The page shell of our webviews: one script and one stylesheet from media/, under a strict CSP with a nonce. */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';

export interface WebviewPage {
  script: string;
  style: string;
  title: string;
  /** Extra attributes of the `<main id="app">` element the script renders into. */
  mainAttributes?: string;
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const media = vscode.Uri.joinPath(extensionUri, 'media');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(media, page.script));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(media, page.style));
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>${escape(page.title)}</title>
</head>
<body>
<main id="app"${page.mainAttributes ? ` ${page.mainAttributes}` : ''}></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}
