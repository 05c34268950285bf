import { forwardedHeaders } from "../forward-headers.ts";

/** Istio's details v2 looks the book up in Google Books; here through the mesh's egress edge. */
export type ExternalBookEnv = { EGRESS?: Fetcher; EXTERNAL_BOOK_SERVICE?: string; EXTERNAL_BOOK_URL?: string };

const ISBN = "0486424618"; // The Comedy of Errors, the book Bookinfo shows
const GOOGLE_BOOKS = "https://www.googleapis.com";

type Volume = {
  volumeInfo?: {
    authors?: string[];
    publishedDate?: string;
    printType?: string;
    pageCount?: number;
    publisher?: string;
    language?: string;
    industryIdentifiers?: { type: string; identifier: string }[];
  };
};

export const externalBookEnabled = (env: ExternalBookEnv) => env.EXTERNAL_BOOK_SERVICE === "true";

/** The book's details from the external service, in Bookinfo's shape; throws a reason when unavailable. */
export async function fetchExternalBook(
  env: ExternalBookEnv,
  id: number,
  inbound: Headers,
): Promise<Record<string, unknown>> {
  if (!env.EGRESS) throw new Error("no EGRESS binding: give details `egress: true` in the manifest");
  const url = `${env.EXTERNAL_BOOK_URL ?? GOOGLE_BOOKS}/books/v1/volumes?q=isbn:${ISBN}`;
  const res = await env.EGRESS.fetch(url, { headers: forwardedHeaders(inbound), signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`external book service answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const info = ((await res.json()) as { items?: Volume[] }).items?.[0]?.volumeInfo;
  if (!info) throw new Error("external book service found no book");
  const isbn = (type: string) => info.industryIdentifiers?.find((i) => i.type === type)?.identifier;
  return {
    id,
    author: info.authors?.[0],
    year: info.publishedDate,
    type: info.printType === "BOOK" ? "paperback" : "unknown",
    pages: info.pageCount,
    publisher: info.publisher,
    language: info.language === "en" ? "English" : info.language === "fr" ? "French" : "unknown",
    "ISBN-10": isbn("ISBN_10"),
    "ISBN-13": isbn("ISBN_13"),
  };
}
