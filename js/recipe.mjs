// Recipe checks in JS, before the wasm core sees the recipe: wrong types,
// unknown enum values and missing required fields fail early with a
// RecipeError naming the field (`quantize.mode`) and the allowed values.
//
// The core (crate/src/passes: serde with deny_unknown_fields, then each
// transform's validate()) stays the authority: fields and sections this table
// does not know are passed through untouched so the core can accept (a newer
// schema) or refuse them, and value ranges are left to the core, whose
// messages name the field too. tests/package/recipe.test.mjs checks this table
// against the core (every enum here equals the core's variants, every field
// here is one the core knows).

import { RecipeError } from './errors.mjs';

const T = {
  string: { kind: 'string' },
  bool: { kind: 'boolean' },
  number: { kind: 'number' },
  uint: { kind: 'uint' },
  strings: { kind: 'strings' },
};
const nullable = (spec) => ({ ...spec, nullable: true });
const oneOf = (...values) => ({ kind: 'enum', values: Object.freeze(values) });
const record = (value) => ({ kind: 'record', value });
const section = (fields, required = []) => ({ kind: 'object', fields, required });

/** The recipe fields this version of the package checks (camelCase, as the core reads them). */
export const RECIPE_SCHEMA = section({
  name: nullable(T.string),
  externalBuffers: T.bool,
  sparseFormat: T.bool,
  quantize: nullable(
    section(
      {
        mode: oneOf('dynamic', 'float16', 'int8', 'int16x8'),
        io: oneOf('float', 'int8', 'uint8'),
        int8Only: T.bool,
        skip: T.strings,
        minElements: T.uint,
        perChannel: T.bool,
        calibration: section({
          method: oneOf('minmax', 'percentile', 'mse'),
          percentile: T.number,
        }),
      },
      ['mode'],
    ),
  ),
  prune: nullable(
    section({
      sparsity: nullable(T.number),
      pattern: T.string, // unstructured | N:M | block:RxC (parsed by the core)
      scope: oneOf('layer', 'global'),
      method: oneOf('magnitude', 'obs'),
      layers: record(T.number),
      includeDepthwise: T.bool,
      skip: T.strings,
      damping: T.number,
      maxSamples: T.uint,
      sequential: T.bool,
    }),
  ),
  cluster: nullable(
    section(
      {
        clusters: T.uint,
        perChannel: T.bool,
        scaled: T.bool,
        entropyPenalty: T.number,
        init: oneOf('kmeans++', 'linear', 'density', 'random'),
        preserveSparsity: T.bool,
        dataAware: T.bool,
        includeDepthwise: T.bool,
        skip: T.strings,
        layers: record(T.uint),
        seed: T.uint,
        maxIterations: T.uint,
        maxSamples: T.uint,
      },
      ['clusters'],
    ),
  ),
});

/** Enum fields as {path: allowed values}, e.g. {'quantize.mode': ['dynamic', ...]}. */
export function recipeEnums(spec = RECIPE_SCHEMA, prefix = '') {
  const out = {};
  for (const [k, f] of Object.entries(spec.fields)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (f.kind === 'enum') out[path] = f.values;
    if (f.kind === 'object') Object.assign(out, recipeEnums(f, path));
  }
  return out;
}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '...' : v}"`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

const quote = (vals) => vals.map((v) => `"${v}"`).join(', ');
const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);

function fail(path, expected, got, allowed) {
  throw new RecipeError(`recipe.${path}: expected ${expected}, got ${describe(got)}`, { field: path, allowed });
}

function check(spec, v, path) {
  if (v === null && spec.nullable) return;
  switch (spec.kind) {
    case 'string':
      if (typeof v !== 'string') fail(path, 'a string', v);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail(path, 'true or false', v);
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a finite number', v);
      return;
    case 'uint':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'a non-negative integer', v);
      return;
    case 'strings':
      if (!Array.isArray(v)) fail(path, 'an array of strings', v);
      v.forEach((s, i) => {
        if (typeof s !== 'string') fail(`${path}[${i}]`, 'a string', s);
      });
      return;
    case 'enum':
      if (!spec.values.includes(v)) fail(path, `one of ${quote(spec.values)}`, v, spec.values);
      return;
    case 'record':
      if (!isPlainObject(v)) fail(path, 'an object mapping names to values', v);
      for (const [k, x] of Object.entries(v)) check(spec.value, x, `${path}["${k}"]`);
      return;
    case 'object':
      checkObject(spec, v, path);
      return;
    default:
      throw new Error(`recipe schema: unknown kind ${spec.kind}`);
  }
}

function checkObject(spec, v, path) {
  if (!isPlainObject(v)) {
    if (!path) throw new RecipeError(`recipe: expected an object (or its JSON text), got ${describe(v)}`, { field: '' });
    fail(path, 'an object', v);
  }
  for (const req of spec.required) {
    if (v[req] === undefined) {
      const f = spec.fields[req];
      const hint = f.kind === 'enum' ? ` (one of ${quote(f.values)})` : '';
      const p = path ? `${path}.${req}` : req;
      throw new RecipeError(`recipe.${p} is required${hint}`, { field: p, allowed: f.kind === 'enum' ? f.values : undefined });
    }
  }
  for (const [k, x] of Object.entries(v)) {
    const f = Object.hasOwn(spec.fields, k) ? spec.fields[k] : null;
    // Unknown fields go to the core, which knows the whole (possibly newer) schema.
    if (f && x !== undefined) check(f, x, path ? `${path}.${k}` : k);
  }
}

/**
 * Check a recipe (an object, or its JSON text) and return it as an object.
 * Throws RecipeError (code INVALID_RECIPE) naming the bad field.
 * @param {object|string} recipe
 * @returns {object}
 */
export function validateRecipe(recipe) {
  let r = recipe;
  if (typeof r === 'string') {
    try {
      r = JSON.parse(r);
    } catch (e) {
      throw new RecipeError(`recipe: not valid JSON (${e.message})`, { field: '', cause: e });
    }
  }
  if (r === undefined || r === null) r = {};
  checkObject(RECIPE_SCHEMA, r, '');
  return r;
}

/** Validate and serialize for the core. */
export function recipeToJson(recipe) {
  return JSON.stringify(validateRecipe(recipe));
}

const CORE_RECIPE = /^invalid argument: (recipe|prune|cluster|quantize): (.*)$/s;

/** Dotted paths in `obj` where `pred(key, value)` holds (depth-first, objects only). */
function findPaths(obj, pred, prefix = '', out = []) {
  if (!isPlainObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (pred(k, v)) out.push(p);
    findPaths(v, pred, p, out);
  }
  return out;
}

/**
 * A core error about the recipe (serde's "unknown field" / "unknown variant",
 * a transform's validate()) as a RecipeError; anything else unchanged.
 * `recipe` (the object sent) lets the field be named with its full path.
 */
export function recipeErrorFromCore(e, recipe = undefined) {
  if (e?.code !== 'INVALID_ARGUMENT' || typeof e.message !== 'string') return e;
  const m = CORE_RECIPE.exec(e.message);
  if (!m) return e;
  const where = m[1];
  const rest = m[2].replace(/ at line \d+ column \d+$/, '');
  let field = where === 'recipe' ? '' : where;
  let allowed;
  const unknown = /unknown (field|variant) `([^`]*)`(?:, expected (?:one of )?(.*))?$/s.exec(rest);
  if (unknown) {
    const [, what, name, expected] = unknown;
    if (expected) allowed = [...expected.matchAll(/`([^`]*)`/g)].map((x) => x[1]);
    const paths = what === 'field' ? findPaths(recipe, (k) => k === name) : findPaths(recipe, (_, v) => v === name);
    field = paths[0] ?? (what === 'field' ? name : field);
  } else {
    const dotted = /^(prune|cluster|quantize)\.([A-Za-z][A-Za-z0-9]*)/.exec(rest);
    const named = /^([A-Za-z][A-Za-z0-9]*)(?:\[|\s)/.exec(rest);
    if (dotted) field = `${dotted[1]}.${dotted[2]}`;
    else if (named) {
      const inSection = where === 'recipe' ? recipe : recipe?.[where];
      const paths = findPaths(inSection, (k) => k === named[1], where === 'recipe' ? '' : where);
      field = paths[0] ?? (where === 'recipe' ? '' : `${where}.${named[1]}`);
    }
  }
  const msg = where === 'recipe' ? `recipe: ${rest}` : `recipe.${where}: ${rest}`;
  return new RecipeError(msg, { field, allowed, cause: e });
}
