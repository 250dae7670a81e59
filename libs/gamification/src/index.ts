export { GamificationModule } from './gamification.module.js';
export { GamificationService } from './gamification.service.js';
