import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ErrorCode, type NotificationsPage } from '#contracts';
import { CurrentIdentity, HttpJwtGuard, Roles, type Identity } from '#auth';
import { ApiError } from '#http';
import { CreateNotificationDto } from './dto/create-notification.dto.js';
import { ListNotificationsQuery } from './dto/list-notifications.query.js';
import { NotificationsService, toView } from './notifications.service.js';

const DEFAULT_PAGE_SIZE = 50;

/** `/api/v1/notifications`: the caller's own inbox, and sending (services and admins). */
@Controller('notifications')
@UseGuards(HttpJwtGuard)
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Post()
  @Roles('service', 'admin')
  async create(@Body() body: CreateNotificationDto): Promise<{ notifications: { id: string; userId: string; createdAt: string }[] }> {
    const stored = await this.notifications.notify(body.userIds, { title: body.title, message: body.message, data: body.data });
    return { notifications: stored.map(({ id, userId, createdAt }) => ({ id, userId, createdAt })) };
  }

  @Get()
  async list(@CurrentIdentity() identity: Identity, @Query() query: ListNotificationsQuery): Promise<NotificationsPage> {
    const page = await this.notifications.list(identity.userId, { unreadOnly: query.unread, limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
    return { items: page.items.map(toView), nextCursor: page.nextCursor, unreadCount: await this.notifications.unreadCount(identity.userId) };
  }

  @Patch(':id/read')
  async markRead(@CurrentIdentity() identity: Identity, @Param('id', ParseUUIDPipe) id: string): Promise<{ notificationId: string; unreadCount: number }> {
    const result = await this.notifications.markRead(identity.userId, id);
    if (!result) throw notFound();
    return { notificationId: id, unreadCount: result.unreadCount };
  }

  @Delete(':id')
  @HttpCode(200)
  async remove(@CurrentIdentity() identity: Identity, @Param('id', ParseUUIDPipe) id: string): Promise<{ notificationId: string; unreadCount: number }> {
    const result = await this.notifications.remove(identity.userId, id);
    if (!result) throw notFound();
    return { notificationId: id, unreadCount: result.unreadCount };
  }
}

/** The same answer for "absent" and "someone else's": existence is not revealed. */
function notFound(): ApiError {
  return new ApiError(ErrorCode.NOT_FOUND, HttpStatus.NOT_FOUND);
}
