import fastifyFormbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type pg from 'pg'
import { Type } from 'typebox'
import { takeReceipts, type ReceiptListeners } from '../../outbox/dispatch/record-receipts.ts'
import {
  isTwilioSignatureValid,
  receiptOfTwilioCallback,
  TWILIO_RECEIPT_PATH,
  type FormParams,
} from '../../providers/twilio-status-callback.ts'
import { ErrorSchema } from '../message-schemas.ts'

const INVALID_SIGNATURE = {
  statusCode: 403,
  code: 'INVALID_SIGNATURE',
  error: 'Forbidden',
  message: 'X-Twilio-Signature is missing or is not the signature of this request',
}

/**
 * Delivery receipts that providers push: `POST /v1/receipts/twilio`, Twilio's status
 * callbacks. Not behind API_TOKEN (Twilio cannot send a bearer token): the signature,
 * made with the auth token, is the authentication. A request without a valid one is
 * refused with 403 before anything is read or written.
 */
export const receiptRoutes: FastifyPluginAsyncTypebox<
  {
    pool: pg.Pool
    /** TWILIO_AUTH_TOKEN: the key of the signature. */
    twilioAuthToken: string
    /** PUBLIC_URL + the path: the URL Twilio requested, so the one it signed. */
    twilioCallbackUrl: string
  } & ReceiptListeners
> = async (app, { pool, twilioAuthToken, twilioCallbackUrl, metrics, alerts }) => {
  await app.register(fastifyFormbody)

  app.post(
    TWILIO_RECEIPT_PATH,
    {
      schema: {
        summary: "Twilio's status callbacks (delivery receipts), authenticated by X-Twilio-Signature",
        description:
          'delivered, undelivered and failed set the message\'s delivery; other statuses and repeats change nothing. A final status for a MessageSid no message shows yet is kept and applied once the send is recorded (for a day at most). All are answered 200.',
        headers: Type.Object({ 'x-twilio-signature': Type.Optional(Type.String()) }),
        response: { 200: Type.Null(), 403: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (request, reply) => {
      const params = (request.body ?? {}) as FormParams
      if (!isTwilioSignatureValid(twilioAuthToken, request.headers['x-twilio-signature'], twilioCallbackUrl, params)) {
        request.log.warn('Twilio status callback refused: bad or missing signature')
        return reply.code(403).send(INVALID_SIGNATURE)
      }
      const receipt = receiptOfTwilioCallback(params)
      if (receipt && receipt !== 'not_final') {
        await takeReceipts(pool, 'twilio', [receipt], { metrics, alerts })
      }
      return reply.code(200).send(null)
    },
  )
}
