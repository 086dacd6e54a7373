/** How much one request may ask for. */
export const MAX_PAGE_SIZE = 200;
export const BODY_LIMIT_BYTES = 16 * 1024;
