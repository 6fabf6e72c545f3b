// Does a statically fetched page need a browser? One streaming pass over the
// HTML (htmlparser2, linear) counting visible text and the signs of a
// client-rendered app: an empty mount point, script bundles, an "enable
// JavaScript" noscript. A page without scripts never needs rendering, so
// plain static pages cost only a substring search.
import { Parser } from 'htmlparser2';

/** Visible text below this many characters counts as "little text". */
export const APP_SHELL_TEXT_CHARS = 200;
const MOUNT_IDS = new Set(['root', 'app', '__next', '__nuxt', 'q-app', 'svelte', 'main-app', 'application']);
const INVISIBLE = new Set(['script', 'style', 'noscript', 'template', 'head', 'title', 'svg']);

export interface AppShellVerdict {
  render: boolean;
  /** Why (for the page's warnings and the log): little_text, empty_root, script_bundles, noscript_js. */
  signs: string[];
  textChars: number;
}

export function looksLikeAppShell(html: string): AppShellVerdict {
  if (!/<script/i.test(html)) return { render: false, signs: [], textChars: -1 };
  let textChars = 0;
  let invisibleDepth = 0;
  let scripts = 0;
  let noscriptJs = false;
  let inNoscript = false;
  let noscriptText = '';
  // An element with a mount-point id that closes with no child elements and no text.
  let mountOpen: { depth: number; empty: boolean } | undefined;
  let emptyRoot = false;
  let depth = 0;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        depth++;
        if (mountOpen) mountOpen.empty = false;
        if (name === 'script' && (attrs.src !== undefined || (attrs.type ?? '') === 'module')) scripts++;
        if (name === 'noscript') inNoscript = true;
        if (INVISIBLE.has(name)) invisibleDepth++;
        else if (!mountOpen && attrs.id !== undefined && MOUNT_IDS.has(attrs.id.toLowerCase())) mountOpen = { depth, empty: true };
      },
      ontext(text) {
        if (inNoscript && noscriptText.length < 2000) noscriptText += text;
        if (invisibleDepth > 0) return;
        const visible = text.trim().length;
        if (visible > 0 && mountOpen) mountOpen.empty = false;
        textChars += visible;
      },
      onclosetag(name) {
        if (name === 'noscript') {
          inNoscript = false;
          if (/enable javascript|javascript (is )?(required|disabled)|turn on javascript|requires javascript/i.test(noscriptText)) noscriptJs = true;
          noscriptText = '';
        }
        if (INVISIBLE.has(name) && invisibleDepth > 0) invisibleDepth--;
        if (mountOpen && mountOpen.depth === depth) {
          if (mountOpen.empty) emptyRoot = true;
          mountOpen = undefined;
        }
        depth--;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  const signs: string[] = [];
  if (textChars < APP_SHELL_TEXT_CHARS) signs.push('little_text');
  if (emptyRoot) signs.push('empty_root');
  if (scripts > 0) signs.push('script_bundles');
  if (noscriptJs) signs.push('noscript_js');
  // Little text alone is a short page; with any sign of an app it is a shell.
  const render = textChars < APP_SHELL_TEXT_CHARS && (emptyRoot || noscriptJs || scripts > 0);
  return { render, signs, textChars };
}
