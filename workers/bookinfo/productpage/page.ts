import { html, raw } from "hono/html";

// The productpage HTML (Istio's Bookinfo templates, restyled with a small embedded stylesheet).

export type Details = {
  type?: string;
  pages?: number;
  publisher?: string;
  language?: string;
  "ISBN-10"?: string;
  "ISBN-13"?: string;
  error?: string;
};
export type Review = { reviewer: string; text: string; rating?: { stars?: number; color?: string; error?: string } };
export type Product = { id: number; title: string; descriptionHtml: string };

export const PRODUCTS: Product[] = [
  {
    id: 0,
    title: "The Comedy of Errors",
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

const STYLE = `body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#333}nav{background:#222;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
nav a,nav button{color:#ddd;background:none;border:0;font-size:14px;cursor:pointer}main{padding:12px 48px}h3{font-weight:400;font-size:24px}
.row{display:flex;gap:48px}.col{flex:1}blockquote{border-left:5px solid #eee;margin:0 0 20px;padding:10px 20px}small{color:#777;display:block}
dt{font-weight:bold}dd{margin:0 0 8px}.glyphicon-star::before{content:"★"}.glyphicon-star-empty::before{content:"☆"}.error{color:#a94442}
form.login{display:inline}input{padding:4px}`;

const layout = (title: string, body: ReturnType<typeof html>, user?: string) =>
  html`<!doctype html>
    <html>
      <head>
        <meta charset="utf-8" />
        <title>${title}</title>
        <link rel="stylesheet" href="/static/bootstrap-lite.css" />
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <nav>
          <a href="/productpage">BookInfo Sample</a>
          ${
            user
              ? html`<span>${user} <a href="/logout">sign out</a></span>`
              : html`<form class="login" method="post" action="/login">
                  <input name="username" placeholder="username" />
                  <input name="passwd" type="password" placeholder="password" /> <button type="submit">Sign in</button>
                </form>`
          }
        </nav>
        <main>${body}</main>
      </body>
    </html>`;

export const indexPage = () =>
  layout(
    "Simple Bookstore App",
    html`<h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
      <p>productpage → details, reviews (v1, v2, v3) → ratings</p>
      <p>Click on one of the links below to auto generate a request to the backend as a real user or a tester</p>
      <p><a href="/productpage?u=normal">Normal user</a></p>
      <p><a href="/productpage?u=test">Test user</a></p>`,
  );

function stars(r: Review["rating"]) {
  if (!r) return "";
  if (r.error) return html`<p class="error"><i>${r.error}</i></p>`;
  const n = Math.max(0, Math.min(5, r.stars ?? 0));
  const full = Array.from({ length: n }, () => html`<span class="glyphicon glyphicon-star"></span>`);
  const empty = Array.from({ length: 5 - n }, () => html`<span class="glyphicon glyphicon-star-empty"></span>`);
  return html`<font color="${r.color ?? "black"}">${full}${empty}</font>`;
}

export function productPage(p: {
  product: Product;
  details?: Details;
  reviews?: Review[];
  reviewsError?: string;
  detailsError?: string;
  user?: string;
}) {
  const d = p.details;
  return layout(
    "Simple Bookstore App",
    html`<h3>${p.product.title}</h3>
      <p>${raw(p.product.descriptionHtml)}</p>
      <div class="row">
        <div class="col">
          <h4>Book Details</h4>
          ${
            d
              ? html`<dl>
                  <dt>Type:</dt>
                  <dd>${d.type}</dd>
                  <dt>Pages:</dt>
                  <dd>${d.pages}</dd>
                  <dt>Publisher:</dt>
                  <dd>${d.publisher}</dd>
                  <dt>Language:</dt>
                  <dd>${d.language}</dd>
                  <dt>ISBN-10:</dt>
                  <dd>${d["ISBN-10"]}</dd>
                  <dt>ISBN-13:</dt>
                  <dd>${d["ISBN-13"]}</dd>
                </dl>`
              : html`<h4 class="error">${p.detailsError}</h4>`
          }
        </div>
        <div class="col">
          <h4>Book Reviews</h4>
          ${
            p.reviews
              ? p.reviews.map(
                  (r) =>
                    html`<blockquote>
                      <p>${r.text}</p>
                      <small>${r.reviewer}</small>${stars(r.rating)}
                    </blockquote>`,
                )
              : html`<h4 class="error">${p.reviewsError}</h4>`
          }
        </div>
      </div>`,
    p.user,
  );
}
