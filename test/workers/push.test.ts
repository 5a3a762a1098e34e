import { describeModules } from './modules'

describeModules(import.meta.glob('./push/*.ts'))
