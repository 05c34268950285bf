/** An element of dashboard.html by id (kept apart from format.ts, whose pure helpers tests import in Node). */
export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
