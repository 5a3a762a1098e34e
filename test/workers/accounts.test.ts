import { describeModules } from './modules'

describeModules(import.meta.glob('./accounts/*.ts'))
