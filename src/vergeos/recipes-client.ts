/**
 * VergeOS's own VM recipes, typed: the downloaded recipes (optionally of named catalogs), their
 * sections and questions, a simulated deployment (gov's Preview) and a real one (a recipe
 * instance), and instances read back by key or name. A deploy is sent once and never re-sent: a
 * lost answer is an unknown outcome the caller looks up by name. A simulation that VergeOS answers
 * with a 2xx created something, and says so in a typed error carrying the key it was given.
 * Answers may hold passwords: they leave only as the request body, and anything VergeOS says back
 * in an error has the secret answers' values redacted.
 */
import { CodedError } from '../errors.js';
import { VergeosError } from './errors.js';
import {
  recipeInstanceSchema,
  recipeQuestionSchema,
  recipeSectionSchema,
  simulationReportSchema,
  vmRecipeSchema,
  type RecipeInstance,
  type RecipeQuestion,
  type RecipeSection,
  type SimulationReport,
  type VmRecipe,
} from './recipe-types.js';
import { errorText, type CallOptions, type CallResult } from './transport.js';
import { createdSchema, keySchema } from './types.js';
import { badResponse, parseBody, quote } from './wire.js';
import { z } from 'zod';

/** The calls the rest of the bot makes about VergeOS's recipes (part of VergeosApi). */
export interface VergeosRecipesApi {
  /** Recipes, by name; downloaded ones only unless told otherwise; only of these catalogs (by name) when given. */
  listVmRecipes(options?: ListVmRecipesOptions): Promise<VmRecipe[]>;
  /** A recipe's sections in order (`$database` included: it is VergeOS's plumbing, see isAskedQuestion). */
  recipeSections(recipeKey: string): Promise<RecipeSection[]>;
  /** Every question of a recipe, in VergeOS's order. */
  recipeQuestions(recipeKey: string): Promise<RecipeQuestion[]>;
  /** A simulated deployment's report (VergeOS's 405 "Simulation complete"); a 2xx is RecipeSimulationCreatedError. */
  simulateRecipe(deployment: RecipeDeployment): Promise<SimulationReport>;
  /** `POST /vm_recipe_instances`, sent once: a lost answer is a VergeosError with outcomeUnknown (look it up by name). */
  deployRecipe(deployment: RecipeDeployment): Promise<{ instanceKey: string }>;
  getRecipeInstance(instanceKey: string): Promise<RecipeInstance>;
  /** The recipe instance of that name, if any. */
  findRecipeInstanceByName(name: string): Promise<RecipeInstance | undefined>;
}

export interface ListVmRecipesOptions {
  /** Default true: only recipes that can be deployed. */
  downloadedOnly?: boolean | undefined;
  /** Catalog names; absent or empty: every catalog. */
  catalogs?: readonly string[] | undefined;
}

export interface RecipeDeployment {
  /** The recipe's 40-hex key. */
  recipe: string;
  /** The VM's name. */
  name: string;
  /** In the API's units: RAM in MB, disk sizes in bytes, booleans as JSON booleans. */
  answers: Readonly<Record<string, unknown>>;
  /**
   * Answers whose values are secret (password questions, dont_store ones): redacted from anything
   * VergeOS says back in an error. Default: the answers whose names look secret.
   */
  secretNames?: readonly string[] | undefined;
}

/** What the transport offers this client: a call, and a 405's body returned rather than thrown when asked. */
export interface RecipeTransport {
  call(options: CallOptions & { answerStatuses?: readonly number[] }): Promise<CallResult>;
}

/** VergeOS answered a simulation with a 2xx: it created a recipe instance (and likely a VM) instead (gov's RecipePreviewPersistedError). */
export class RecipeSimulationCreatedError extends CodedError {
  override readonly name = 'RecipeSimulationCreatedError';
  constructor(
    readonly endpoint: string,
    readonly status: number,
    /** The instance key VergeOS gave, if its answer held one (else look it up by name). */
    readonly instanceKey: string | undefined,
    readonly vmName: string,
  ) {
    super(
      'VERGEOS_SIMULATION_CREATED',
      `VergeOS answered a simulation of '${vmName}' with HTTP ${status}: it created recipe instance ${instanceKey ?? '(key not given)'} instead of simulating. Record it and tell the lead.`,
    );
  }
}

const PATH = '/vm_recipe_instances';
const ENDPOINT = `POST /api/v4${PATH}`;
const RECIPE_FIELDS = '$key,id,name,description,version,build,catalog,catalog#name as catalog_name,downloaded,update_available,count(instances) as instances';
const SECTION_FIELDS = '$key,recipe,name,description,orderid';
const QUESTION_FIELDS = [
  '$key,recipe,section,section#name as section_name,name,display,hint,help,note,type,default,required,enabled,readonly,orderid',
  'min,max,regex,list,table,fields,filter,database_context,hide_none,conditions,on_change,postprocess_string,dont_store,system',
].join(',');
/** Not `answers`: gov warns they may hold passwords, and the bot keeps its own record of what it sent. */
const INSTANCE_FIELDS = '$key,recipe,recipe#name as recipe_name,vm,vm#name as vm_name,name,version,build,auto_update,created,modified';
const SECRET_LOOKING_NAME = /pass(word|wd|phrase)?|secret|token|private|credential/i;
const SIMULATION_COMPLETE = /^simulation complete$/i;
const catalogRowSchema = z.object({ $key: keySchema, name: z.string().nullish() });

export class RecipesClient implements VergeosRecipesApi {
  constructor(private readonly http: RecipeTransport) {}

  async listVmRecipes(options: ListVmRecipesOptions = {}): Promise<VmRecipe[]> {
    const filters: string[] = [];
    if (options.downloadedOnly ?? true) filters.push('downloaded eq 1');
    const names = [...new Set(options.catalogs ?? [])];
    if (names.length > 0) {
      const catalogs = await this.#list('/catalogs', catalogRowSchema, { filter: names.map((n) => `name eq ${quote(n)}`).join(' or '), fields: '$key,name' });
      const keys = catalogs.filter((c) => names.includes(c.name ?? '')).map((c) => c.$key);
      // Named catalogs that do not exist offer nothing: never recipes of another catalog.
      if (keys.length === 0) return [];
      filters.push(`(${keys.map((k) => `catalog eq ${quote(k)}`).join(' or ')})`);
    }
    return this.#list('/vm_recipes', vmRecipeSchema, {
      ...(filters.length > 0 ? { filter: filters.join(' and ') } : {}),
      fields: RECIPE_FIELDS,
      sort: '+name',
    });
  }

  recipeSections(recipeKey: string): Promise<RecipeSection[]> {
    return this.#list('/recipe_sections', recipeSectionSchema, {
      filter: `recipe eq ${quote(`vm_recipes/${recipeKey}`)}`,
      sort: '+orderid',
      fields: SECTION_FIELDS,
    });
  }

  async recipeQuestions(recipeKey: string): Promise<RecipeQuestion[]> {
    const questions = await this.#list('/recipe_questions', recipeQuestionSchema, {
      filter: `recipe eq ${quote(`vm_recipes/${recipeKey}`)}`,
      sort: '+orderid',
      fields: QUESTION_FIELDS,
    });
    // Stable, whatever order a release sends them in.
    return questions.sort((a, b) => a.order - b.order);
  }

  async simulateRecipe(deployment: RecipeDeployment): Promise<SimulationReport> {
    const result = await this.#send(deployment, true);
    if (result.status >= 200 && result.status < 300) {
      const created = createdSchema.safeParse(result.body);
      throw new RecipeSimulationCreatedError(ENDPOINT, result.status, created.success ? created.data.$key : undefined, deployment.name);
    }
    const said = errorText(result.body);
    if (result.status !== 405 || !SIMULATION_COMPLETE.test(said?.trim() ?? '')) {
      throw redacted(
        new VergeosError({
          code: 'VERGEOS_VALIDATION',
          status: result.status,
          endpoint: ENDPOINT,
          vergeosMessage: said ?? `HTTP ${result.status}`,
          retrySafe: false,
        }),
        deployment,
      );
    }
    const response = (result.body as { response?: unknown }).response;
    return parseBody(simulationReportSchema, response ?? {}, ENDPOINT);
  }

  async deployRecipe(deployment: RecipeDeployment): Promise<{ instanceKey: string }> {
    const result = await this.#send(deployment, false);
    return { instanceKey: parseBody(createdSchema, result.body, ENDPOINT, true).$key };
  }

  async getRecipeInstance(instanceKey: string): Promise<RecipeInstance> {
    const { body } = await this.http.call({ method: 'GET', path: `${PATH}/${encodeURIComponent(instanceKey)}`, query: { fields: INSTANCE_FIELDS } });
    return parseBody(recipeInstanceSchema, body, `GET /api/v4${PATH}/${instanceKey}`);
  }

  async findRecipeInstanceByName(name: string): Promise<RecipeInstance | undefined> {
    const rows = await this.#list(PATH, recipeInstanceSchema, { filter: `name eq ${quote(name)}`, fields: INSTANCE_FIELDS, sort: '+$key' });
    return rows.find((row) => row.name === name);
  }

  /**
   * The POST, once (a POST is never re-sent by the transport either). A simulation asks for its
   * 405 back as a result: that answer is its report. Errors carry no request body; VergeOS's own
   * words have the secret answers redacted.
   */
  async #send(deployment: RecipeDeployment, simulate: boolean): Promise<CallResult> {
    const body = {
      recipe: deployment.recipe,
      name: deployment.name,
      answers: deployment.answers,
      auto_update: false,
      ...(simulate ? { simulate: true } : {}),
    };
    try {
      return await this.http.call({ method: 'POST', path: PATH, body, once: true, ...(simulate ? { answerStatuses: [405] } : {}) });
    } catch (err) {
      if (!(err instanceof VergeosError)) throw err;
      if (simulate && err.status === 405 && SIMULATION_COMPLETE.test(err.vergeosMessage?.trim() ?? '')) {
        // The transport threw the 405 instead of returning it: the report is lost, so fail closed.
        throw badResponse(ENDPOINT, "VergeOS completed the simulation but its report was not returned by the transport (a 405's body)", false);
      }
      throw redacted(err, deployment);
    }
  }

  async #list<S extends z.ZodType>(path: string, schema: S, query: Record<string, string>): Promise<Array<z.output<S>>> {
    const { body } = await this.http.call({ method: 'GET', path, query: { limit: 0, ...query } });
    const endpoint = `GET /api/v4${path}`;
    if (body === undefined) return [];
    if (!Array.isArray(body)) throw badResponse(endpoint, 'expected a list', false);
    return body.map((row) => parseBody(schema, row, endpoint));
  }
}

/** The error with every secret answer's value taken out of what VergeOS said (it may echo a refused value). */
function redacted(err: VergeosError, deployment: RecipeDeployment): VergeosError {
  const names = deployment.secretNames ?? Object.keys(deployment.answers).filter((n) => SECRET_LOOKING_NAME.test(n));
  const secrets = names
    .map((n) => deployment.answers[n])
    .filter((v): v is string | number => (typeof v === 'string' && v !== '') || typeof v === 'number')
    .map(String);
  const said = err.vergeosMessage;
  if (said === undefined || !secrets.some((s) => said.includes(s))) return err;
  const clean = secrets.reduce((text, secret) => text.split(secret).join('***'), said);
  return new VergeosError({
    code: err.code,
    status: err.status,
    endpoint: err.endpoint,
    vergeosMessage: clean,
    retrySafe: err.retrySafe,
    outcomeUnknown: err.outcomeUnknown,
    transportCode: err.transportCode,
    retryAfterMs: err.retryAfterMs,
  });
}
