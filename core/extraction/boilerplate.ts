/**
 * Marks the parts of a page that are never main content.
 *
 * Nothing is removed from the tree: elements are put in one of two sets so a
 * fallback can still render what the stricter pass threw away.
 *  - junk: invisible or non-text (scripts, styles, form controls, hidden nodes);
 *  - boilerplate: visible page furniture (navigation, footers, sidebars,
 *    share bars, related links, comments, ads, bylines, captions...).
 */
import { type DomElement, type DomNode, attr, classAndId, isElement } from './dom.js';
import type { StatsMap } from './stats.js';

const JUNK_TAGS = new Set([
  'script', 'style', 'noscript', 'template', 'svg', 'math', 'canvas', 'iframe', 'frame', 'frameset', 'object', 'embed',
  'video', 'audio', 'source', 'track', 'map', 'input', 'select', 'option', 'optgroup', 'textarea', 'button', 'datalist',
  'link', 'meta', 'title', 'dialog', 'img', 'picture', 'area', 'param', 'base', 'rt', 'rp',
]);

/** Page furniture by element name (HTML5 sectioning that is, by definition, not the main flow). */
const BOILER_TAGS = new Set(['nav', 'aside', 'footer', 'figcaption', 'menu', 'address']);

const BOILER_ROLES = new Set([
  'navigation', 'complementary', 'contentinfo', 'banner', 'search', 'dialog', 'alertdialog', 'menu', 'menubar',
  'toolbar', 'marquee',
]);

/**
 * Class/id fragments of page furniture (in the spirit of trafilatura's and
 * readability's lists), matched as substrings of the lowercased class + id.
 * "Strong" names are unambiguous.
 */
const STRONG_SUBSTRINGS = [
  'sidebar', 'footer', 'navbar', 'navigation', 'breadcrumb', 'bread-crumb', 'newsletter', 'cookie', 'consent', 'gdpr',
  'sociable', 'sharebar', 'shariff', 'addthis', 'related', 'disqus', 'comment', 'kommentar', 'advert', 'sponsor',
  'byline', 'taboola', 'outbrain', 'subscribe', 'signup', 'sign-up', 'pagination', 'dateline',
  'timestamp', 'skip-link', 'skiplink', 'skip-to', 'screen-reader', 'sr-only', 'visually-hidden', 'visuallyhidden',
  'modal', 'masthead', 'most-popular', 'mostpopular', 'most-read', 'trending', 'author', 'post-meta', 'entry-meta',
  'article-meta', 'postmeta', 'caption', 'credit', 'tag-list', 'taglist', 'tagcloud', 'tag-cloud', 'login', 'signin',
  'lightbox', 'syndication', 'sitemap', 'copyright', 'noprint', 'no-print', 'newsticker', 'further-reading',
  'more-stories', 'werbung', 'post-tags', 'entry-tags', 'article-tags', 'entry-footer', 'post-footer', 'prevnext',
  'prev-next', 'next-prev', 'post-navigation', 'nav-links',
  // tables of contents, image captions and sources
  'ez-toc', 'table-of-contents', 'legend', 'bildunterschrift', 'imagedescription',
  'image-description', 'img-desc', 'img_desc', 'img-metadata', 'image-source', 'image__source', 'bildquelle',
];
/**
 * Weak names: short words matched as whole tokens ("nav" but not "canvas") and
 * words that sites also put on content ("widget" in page builders, "share" on a
 * post wrapper, "…__sharingcontainer"). They only count when the element does
 * not read like an article (see classifyBoilerplate).
 */
const WEAK_TOKENS = [
  'nav', 'menu', 'ad', 'ads', 'adv', 'date', 'time', 'tags', 'tag', 'share', 'shares', 'meta', 'hide', 'extra', 'sns',
  'pub', 'topbar', 'links', 'follow', 'sticky', 'skip', 'cta', 'pager', 'rating', 'ratings', 'anzeige',
];
const WEAK_SUBSTRINGS = [
  'social', 'sharing', 'share-', '-share', '_share', 'share_', 'subnav', 'offcanvas', 'off-canvas', 'toolbar', 'popup',
  'widget', 'subscription', 'affiliate', 'disclosure', 'promo', 'teaser', 'banner', 'recommend', 'read-more',
  'readmore', 'dropdown', 'overlay', 'keywords', 'categories', 'category-list', 'ticker', 'breaking', 'paywall',
];

const tokenRe = (words: string[]): string => `(?:^|[^a-z0-9])(?:${words.map(escapeRe).join('|')})(?:[^a-z0-9]|$)`;
const STRONG_CLASS_RE = new RegExp(STRONG_SUBSTRINGS.map(escapeRe).join('|'));
const WEAK_CLASS_RE = new RegExp(`${WEAK_SUBSTRINGS.map(escapeRe).join('|')}|${tokenRe(WEAK_TOKENS)}`);
const COMMENT_RE = /comment|kommentar|disqus|respond|reply/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

const HIDDEN_STYLE_RE = /display\s*:\s*none|visibility\s*:\s*hidden/i;

/** A comment thread, post or reply by its class/id (forms excluded: a reply form is never content). */
export function isCommentSection(el: DomElement): boolean {
  return el.name !== 'form' && COMMENT_RE.test(classAndId(el));
}

export function isJunk(el: DomElement): boolean {
  if (JUNK_TAGS.has(el.name)) return true;
  const a = el.attribs;
  if (!a) return false; // the document root, used as body when a page has no <body>
  if ('hidden' in a) return true;
  if (a['aria-hidden'] === 'true') return true;
  const style = a['style'];
  return style !== undefined && HIDDEN_STYLE_RE.test(style);
}

/** Elements that wrap the main content: never dropped for a class name (think "page-with-sidebar"). */
const STRUCTURAL = new Set(['html', 'body', 'main']);
/** Inline runs are left alone: a classed <a> or <strong> inside a sentence belongs to the sentence. */
const INLINE_KEEP = new Set(['a', 'strong', 'em', 'b', 'i']);
const INLINE_CREDIT_RE = /copyright|credit|caption/;

/** Prose (non-link characters) from which a <header> is taken to hold an article lead. */
const HEADER_LEAD_TEXT = 150;
/** Prose from which a <form> is taken to wrap content. */
const FORM_PROSE = 300;
/** Prose from which an element with a weak furniture name is taken to be content. */
const WEAK_NAME_PROSE = 100;

const HEADING_TAGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

const SECTIONING = new Set(['article', 'aside', 'main', 'nav', 'section']);

/** Whether `el` or an element above it is sectioning content (the classifying walk carries this down instead of climbing per <header>). */
function inSectioning(el: DomElement): boolean {
  for (let p: DomNode | null = el; p && isElement(p); p = p.parent) if (SECTIONING.has(p.name)) return true;
  return false;
}

function hasHeading(el: DomElement): boolean {
  for (const c of el.children) if (isElement(c) && (HEADING_TAGS.has(c.name) || (c.name === 'hgroup' && hasHeading(c)))) return true;
  return false;
}

export interface Pruning {
  junk: Set<DomElement>;
  boiler: Set<DomElement>;
}

/**
 * Classifies the subtree under `root`. `protectedEls` are ancestors of known
 * content markers: a class name on them cannot mean page furniture. `stats`
 * (computed without junk) tell furniture from article-like text.
 */
export function classifyBoilerplate(root: DomElement, protectedEls: Set<DomElement>, stats: StatsMap, opts: { commentsAreContent?: boolean } = {}): Pruning {
  const total = stats.get(root)?.text ?? 0;
  const commentsAreContent = opts.commentsAreContent === true;
  /** `sectioned`: an ancestor of `el` is article/aside/main/nav/section. */
  const isBoiler = (el: DomElement, sectioned: boolean): boolean => {
    const s = stats.get(el);
    const text = s?.text ?? 0;
    const prose = s ? s.text - s.link : 0;
    const lowLinks = !!s && s.link < 0.3 * s.text;
    // Whatever its name, an element holding nearly all the page's text is a layout wrapper
    // (Drupal's "dialog-off-canvas-main-canvas", a <header> around the whole document...).
    const wrapper = total > 0 && text >= 0.8 * total;
    if (el.name === 'header') {
      // The page banner (ARIA: a <header> outside article/aside/main/nav/section) is furniture, unless
      // it holds an article lead. A section's own header (article title, panel title) is content.
      if (!sectioned) return !wrapper && !(lowLinks && prose >= HEADER_LEAD_TEXT);
      if (!(lowLinks && hasHeading(el)) && prose < HEADER_LEAD_TEXT) return true;
    }
    if (BOILER_TAGS.has(el.name)) return !wrapper && !(lowLinks && prose >= 0.6 * total);
    if (el.name === 'form') {
      // Search, login, newsletter and comment forms hold little prose; shops and ASP.NET pages wrap content in one.
      if (COMMENT_RE.test(classAndId(el))) return true;
      return !wrapper && !(lowLinks && prose >= FORM_PROSE);
    }
    const role = attr(el, 'role').toLowerCase();
    if (role && BOILER_ROLES.has(role)) return !wrapper && !(lowLinks && prose >= 0.6 * total);
    if (STRUCTURAL.has(el.name)) return false;
    const ci = classAndId(el);
    // A credit set in italics ("<em class=copyright>") is still a credit.
    if (INLINE_KEEP.has(el.name)) return !!ci && INLINE_CREDIT_RE.test(ci) && text < 200;
    if (!ci) return false;
    const strong = STRONG_CLASS_RE.test(ci);
    // <article> is a weak content marker: only unambiguous names ("comment", "modal") override it.
    if (el.name === 'article' && !strong) return false;
    if (!strong && !WEAK_CLASS_RE.test(ci)) return false;
    // Comment sections can hold more text than the article; inside a thread being rendered they are the content.
    if (COMMENT_RE.test(ci)) return !commentsAreContent;
    if (wrapper) return false;
    // Weak names on article-like text are wrappers ("entry share", "section--ads"), not furniture.
    if (!strong) return !(lowLinks && prose >= WEAK_NAME_PROSE) && text < 0.5 * total;
    // A strong name on most of the page's prose is a layout wrapper ("page-with-sidebar").
    return !(lowLinks && prose >= 0.4 * total);
  };
  const junk = new Set<DomElement>();
  const boiler = new Set<DomElement>();
  const stack: [DomElement, boolean][] = [[root, !!root.parent && isElement(root.parent) && inSectioning(root.parent)]];
  while (stack.length) {
    const [el, sectioned] = stack.pop()!;
    if (isJunk(el)) {
      junk.add(el);
      continue;
    }
    if (el !== root && !protectedEls.has(el) && isBoiler(el, sectioned)) {
      boiler.add(el);
      continue;
    }
    const below = sectioned || SECTIONING.has(el.name);
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (isElement(c)) stack.push([c, below]);
    }
  }
  return { junk, boiler };
}
