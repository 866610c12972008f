/**
 * The OpenAI-compatible REST API (`/v1/*`).
 */
import type { Settings } from "../../../config/settings.ts";
import type { Logger } from "../../logger.ts";
import type { ApiKeys } from "../api_keys.ts";
import type { HttpHandler } from "../http_handler.ts";
import { errorResponse } from "../responses.ts";
import type { Services } from "../services.ts";

export interface RestDeps {
  settings: Settings;
  services: Services;
  keys: ApiKeys;
  logger: Logger;
}

export function createRestApi(_deps: RestDeps): HttpHandler {
  return (req) => {
    const path = new URL(req.url).pathname;
    return Promise.resolve(errorResponse(404, `Unknown route: ${req.method} ${path}`, { code: "not_found" }));
  };
}
