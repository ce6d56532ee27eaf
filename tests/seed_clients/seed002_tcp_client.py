import socket
sock = socket.socket(socket.AF_INET,socket.SOCK_STREAM)

# 连接请求,指定连接对象的ip和端口
sock.connect(('127.0.0.1',9000))
while 1:
    # 网络传输收发的数据类型都是bytes类型
    msg1 = input('>>>')
    if msg1 == 'q':break
    if len(msg1) == 0:continue
    sock.send(msg1.encode('utf-8'))
    msg = sock.recv(1024)
    print(msg.decode('utf-8'))

# 关闭连接
sock.close()
