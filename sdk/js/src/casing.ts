import { isRecord } from "./errors.js";

/** `gpuType` → `gpu_type`; a name already in snake_case is left as it is. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/** A request body or query with its keys spelled as the API spells them, at every depth. */
export function toApiCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toApiCase);
  if (!isRecord(value)) return value;
  const spelled: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner !== undefined) spelled[snakeCase(key)] = toApiCase(inner);
  }
  return spelled;
}
