/** Our webviews' pages: the shared page shell with one script and one stylesheet from media/, under a strict CSP with a nonce. */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { pageShell } from '../core/pageShell.js';

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
  return pageShell({ csp, styleHref: style.toString(), scriptSrc: script.toString(), nonce, title: page.title, ...(page.mainAttributes ? { mainAttributes: page.mainAttributes } : {}) });
}
