export { GATE_RESULT_MEDIA_TYPE, type GateDecision, type GateOptions, type GateResult, type ModuleCheck, ModuleGate, checkProcessorConfig, gateModule } from './gate.ts';
export {
  CompiledModule,
  type ModuleLoadOptions,
  type ModulePolicy,
  type ModulePolicyInput,
  ModulePolicySchema,
  type ProcessorConfig,
  compileModulePolicy,
  loadModulePolicyFile,
  loadProcessorConfigFile,
  parseModulePolicy,
  parseProcessorConfig,
  type PolicyBytes,
  readPolicyFile,
} from './module-policy.ts';
export { type ModuleTrust, ModuleTrustSchema, trustSourceOf } from './trust.ts';
